# MySQL, as MariaDB: a data directory on a volume, initialised on first
# start, with a database and a user created then.
# NixOS counterpart: `services.mysql` with package = pkgs.mariadb. Two
# differences in meaning: data_dir is the volume, MariaDB's datadir is
# data_dir/data (NixOS' `dataDir` is the datadir itself); and user is a
# database login (NixOS: `ensureUsers`), not the system account MariaDB runs
# as (NixOS' `services.mysql.user`; here always mysql).
# The user's password, if any, comes from MYSQL_PASSWORD at run time
# (docker run -e MYSQL_PASSWORD=...), never from the image.

option "port" {
  type        = number
  default     = 3306
  description = "TCP port MariaDB listens on. NixOS: `settings.mysqld.port`."
  validation {
    condition     = is_port(value)
    error_message = "a port is a whole number from 1 to 65535."
  }
}

option "bind" {
  type        = string
  default     = "0.0.0.0"
  description = "Address MariaDB binds to. Inside a container 0.0.0.0 is reachable only through the ports you publish. NixOS: `settings.mysqld.bind-address`."
  validation {
    condition     = is_host(value)
    error_message = "bind is an IP address, a host name or *."
  }
}

option "data_dir" {
  type        = string
  default     = "/var/lib/mysql"
  description = "The directory declared as an image volume, so data outlives the container; MariaDB's datadir is data_dir/data. NixOS: `dataDir` is the datadir itself, i.e. data_dir + \"/data\" here."
  validation {
    condition     = is_path(value) && value != "/"
    error_message = "data_dir is an absolute, clean path without control characters, not /, such as \"/var/lib/mysql\"."
  }
}

option "database" {
  type        = string
  default     = ""
  description = "A database created on first start. Empty: none. NixOS: `ensureDatabases` = [ database ]."
  validation {
    condition     = can(regex("^[A-Za-z0-9_]*$", value))
    error_message = "a database name here is letters, digits and underscores."
  }
}

option "user" {
  type        = string
  default     = ""
  description = "A database login created on first start with all privileges on database, from any host; its password is MYSQL_PASSWORD at run time. NixOS: `ensureUsers` = [ { name = user; ensurePermissions = { \"database.*\" = \"ALL PRIVILEGES\"; }; } ] (socket authentication there, no password). Not NixOS' `services.mysql.user`, the system account the server runs as (here always mysql)."
  validation {
    condition     = can(regex("^[A-Za-z0-9_]*$", value))
    error_message = "a user name here is letters, digits and underscores."
  }
}

option "package" {
  type        = string
  default     = pkgs.mariadb
  description = "The MariaDB package. NixOS: `package` (required there; pkgs.mariadb for this module)."
  validation {
    condition     = is_path(value)
    error_message = "package is a store path, such as pkgs.x or nix(\"...\")."
  }
}

user "mysql" {
  uid  = 72
  home = "/var/lib/mysql"
}

directory "data" {
  path = option.data_dir
  user = "mysql"
  mode = "0700"
}

directory "socket" {
  path = "/run/mysqld"
  user = "mysql"
  mode = "0755"
}

file "init" {
  name       = "mysql-init"
  executable = true
  text       = <<-EOT
    #!${pkgs.busybox}/bin/sh
    set -eu
    export PATH=${pkgs.busybox}/bin:$PATH
    # The options' values, quoted for sh; the script below uses only these variables.
    pkg=${shell_quote(option.package)}
    data=${shell_quote(option.data_dir)}/data
    user=${shell_quote(option.user)}
    db=${shell_quote(option.database)}
    # End of the options' values.
    if [ -d "$data/mysql" ]; then
      exit 0
    fi
    echo "initialising $data"
    "$pkg/bin/mariadb-install-db" --no-defaults --user=mysql --basedir="$pkg" \
      --datadir="$data" --auth-root-authentication-method=normal --skip-test-db >/dev/null
    # --bootstrap reads one statement per line, so the password may hold no
    # newline; the file holds it, so only its owner may read it, and it is
    # a new file (mktemp): a link planted in /tmp is not written through.
    case "$${MYSQL_PASSWORD:-}" in *'
    '*) echo "MYSQL_PASSWORD holds a newline" >&2; exit 1 ;; esac
    umask 077
    sql=$(mktemp /tmp/mysql-init.XXXXXX)
    {
      echo "USE mysql;"
      echo "FLUSH PRIVILEGES;" # loads the grant tables --bootstrap skips
      if [ -n "$db" ]; then
        echo "CREATE DATABASE IF NOT EXISTS \`$db\`;"
      fi
      if [ -n "$user" ]; then
        pw=$(printf %s "$${MYSQL_PASSWORD:-}" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")
        for host in % localhost; do
          echo "CREATE USER IF NOT EXISTS '$user'@'$host' IDENTIFIED BY '$pw';"
          if [ -n "$db" ]; then
            echo "GRANT ALL ON \`$db\`.* TO '$user'@'$host';"
          fi
        done
      fi
    } > "$sql"
    "$pkg/bin/mariadbd" --no-defaults --user=mysql --basedir="$pkg" \
      --datadir="$data" --bootstrap --skip-networking --log-warnings=0 < "$sql"
    rm -f "$sql"
    echo "created $${db:+database $db }$${user:+user $user}"
  EOT
}

service "init" {
  command = file.init
  oneshot = true
}

service "main" {
  command = "${shell_quote(option.package)}/bin/mariadbd --no-defaults --user=mysql --basedir=${shell_quote(option.package)} --datadir=${shell_quote(option.data_dir)}/data --socket=/run/mysqld/mysqld.sock --pid-file=/run/mysqld/mysqld.pid --bind-address=${option.bind} --port=${option.port}"
  after   = ["init"]
  ready {
    tcp = option.port
  }
}

image {
  ports   = [option.port]
  volumes = [option.data_dir]
}
