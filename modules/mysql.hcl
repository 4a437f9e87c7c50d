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
}

option "bind" {
  type        = string
  default     = "0.0.0.0"
  description = "Address MariaDB binds to. Inside a container 0.0.0.0 is reachable only through the ports you publish. NixOS: `settings.mysqld.bind-address`."
}

option "data_dir" {
  type        = string
  default     = "/var/lib/mysql"
  description = "The directory declared as an image volume, so data outlives the container; MariaDB's datadir is data_dir/data. NixOS: `dataDir` is the datadir itself, i.e. data_dir + \"/data\" here."
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
    data=${option.data_dir}/data
    if [ -d "$data/mysql" ]; then
      exit 0
    fi
    echo "initialising $data"
    ${option.package}/bin/mariadb-install-db --no-defaults --user=mysql --basedir=${option.package} \
      --datadir="$data" --auth-root-authentication-method=normal --skip-test-db >/dev/null
    user='${option.user}' db='${option.database}'
    # --bootstrap reads one statement per line; the file holds a password.
    umask 077
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
    } > /tmp/mysql-init.sql
    ${option.package}/bin/mariadbd --no-defaults --user=mysql --basedir=${option.package} \
      --datadir="$data" --bootstrap --skip-networking --log-warnings=0 < /tmp/mysql-init.sql
    rm -f /tmp/mysql-init.sql
    echo "created $${db:+database $db }$${user:+user $user}"
  EOT
}

service "init" {
  command = file.init
  oneshot = true
}

service "main" {
  command = "${option.package}/bin/mariadbd --no-defaults --user=mysql --basedir=${option.package} --datadir=${option.data_dir}/data --socket=/run/mysqld/mysqld.sock --pid-file=/run/mysqld/mysqld.pid --bind-address=${option.bind} --port=${option.port}"
  after   = ["init"]
  ready {
    tcp = option.port
  }
}

image {
  ports   = [option.port]
  volumes = [option.data_dir]
}
