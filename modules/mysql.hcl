# MySQL, as MariaDB: a data directory on a volume, initialised on first
# start, with a database and a user created then.
# Modelled on NixOS' services.mysql: port, dataDir, ensureDatabases, ensureUsers.
# The user's password, if any, comes from MYSQL_PASSWORD at run time
# (docker run -e MYSQL_PASSWORD=...), never from the image.

option "port" {
  type        = number
  default     = 3306
  description = "TCP port MariaDB listens on."
}

option "bind" {
  type        = string
  default     = "0.0.0.0"
  description = "Address MariaDB binds to. Inside a container 0.0.0.0 is reachable only through the ports you publish."
}

option "data_dir" {
  type        = string
  default     = "/var/lib/mysql"
  description = "The data directory, declared as an image volume so data outlives the container."
}

option "database" {
  type        = string
  default     = ""
  description = "A database created on first start. Empty: none."
  validation {
    condition     = can(regex("^[A-Za-z0-9_]*$", value))
    error_message = "a database name here is letters, digits and underscores."
  }
}

option "user" {
  type        = string
  default     = ""
  description = "A user created on first start with all privileges on database, from any host; its password is MYSQL_PASSWORD at run time."
  validation {
    condition     = can(regex("^[A-Za-z0-9_]*$", value))
    error_message = "a user name here is letters, digits and underscores."
  }
}

option "package" {
  type        = string
  default     = pkgs.mariadb
  description = "The MariaDB package."
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
