# PostgreSQL: a data directory on a volume, initialised on first start, with
# a database and its owner created then.
# NixOS counterpart: `services.postgresql`. One difference in meaning: data_dir
# is the volume, and the cluster (PGDATA) is data_dir/data, created by the
# init with the postgres user as owner; NixOS' `dataDir` is PGDATA itself.
# The owner's password, if any, comes from POSTGRES_PASSWORD at run time
# (docker run -e POSTGRES_PASSWORD=...), never from the image.

option "port" {
  type        = number
  default     = 5432
  description = "TCP port PostgreSQL listens on. NixOS: `settings.port`."
  validation {
    condition     = is_port(value)
    error_message = "a port is a whole number from 1 to 65535."
  }
}

option "listen" {
  type        = string
  default     = "*"
  description = "listen_addresses: where PostgreSQL accepts TCP connections. Inside a container, * is reachable only through the ports you publish. NixOS: `settings.listen_addresses` (enableTCPIP = true sets \"*\")."
  validation {
    condition     = trimspace(value) != "" && length([for a in split(",", value) : a if !is_host(trimspace(a))]) == 0
    error_message = "listen is *, or IP addresses and host names separated by commas."
  }
}

option "data_dir" {
  type        = string
  default     = "/var/lib/postgresql"
  description = "The directory declared as an image volume, so data outlives the container; the cluster (PGDATA) is data_dir/data. NixOS: `dataDir` is PGDATA itself, i.e. data_dir + \"/data\" here."
  validation {
    condition     = is_path(value) && value != "/"
    error_message = "data_dir is an absolute, clean path without control characters, not /, such as \"/var/lib/postgresql\"."
  }
}

option "database" {
  type        = string
  default     = ""
  description = "A database created on first start, owned by user. Empty: none. NixOS: `ensureDatabases` = [ database ]."
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]*$", value)) || value == ""
    error_message = "a database name here is lower-case letters, digits and underscores."
  }
}

option "user" {
  type        = string
  default     = ""
  description = "A login role created on first start, owner of database; its password is POSTGRES_PASSWORD at run time. Over TCP it must log in with that password; over the container's socket it is trusted. NixOS: `ensureUsers` = [ { name = user; ensureDBOwnership = true; } ] (which there needs the database to have the user's name, and sets no password)."
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]*$", value)) || value == ""
    error_message = "a user name here is lower-case letters, digits and underscores."
  }
}

option "settings" {
  type        = map(string)
  default     = {}
  description = "More postgresql.conf settings, name = value (values are written as given, so quote strings: { work_mem = \"'64MB'\" }). NixOS: `settings` (which quotes strings itself)."
  validation {
    condition     = length([for k, v in value : k if !can(regex("^[A-Za-z_][A-Za-z0-9_.]*$", k))]) == 0
    error_message = "a setting's name is letters, digits, underscores and dots, such as work_mem."
  }
}

option "package" {
  type        = string
  default     = pkgs.postgresql
  description = "The PostgreSQL package. NixOS: `package`."
  validation {
    condition     = is_path(value)
    error_message = "package is a store path, such as pkgs.x or nix(\"...\")."
  }
}

user "postgres" {
  uid  = 71
  home = "/var/lib/postgresql"
}

directory "data" {
  path = option.data_dir
  user = "postgres"
  mode = "0700"
}

directory "socket" {
  path = "/run/postgresql"
  user = "postgres"
  mode = "0755"
}

file "conf" {
  name = "postgresql.conf"
  text = <<-EOT
    listen_addresses = ${postgresql_quote(option.listen)}
    port = ${option.port}
    unix_socket_directories = '/run/postgresql'
    hba_file = ${postgresql_quote(file.hba)}
    log_destination = 'stderr'
    logging_collector = off
    timezone = 'UTC'
    log_timezone = 'UTC'
    %{for k in sort(keys(option.settings))}
    ${k} = ${postgresql_quote(option.settings[k])}
    %{endfor}
  EOT
}

file "hba" {
  name = "pg_hba.conf"
  text = <<-EOT
    # The container's socket is reached only by docker exec: trust it.
    local all all trust
    # Over TCP, every role logs in with its password.
    host all all all scram-sha-256
  EOT
}

# Runs as postgres before the server: initdb on an empty data directory, then
# the database and its owner, in single-user mode.
file "init" {
  name       = "postgresql-init"
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
    if [ -s "$data/PG_VERSION" ]; then
      exit 0
    fi
    echo "initialising $data"
    TZ=UTC "$pkg/bin/initdb" -D "$data" --no-locale -E UTF8 -U postgres --auth-local=trust --auth-host=scram-sha-256
    # One statement per run: CREATE DATABASE cannot share a transaction.
    # In single-user mode a newline ends a statement, so none may be in one.
    single() {
      case "$1" in *'
    '*) echo "a statement holds a newline" >&2; exit 1 ;; esac
      out=$(printf '%s\n' "$1" | "$pkg/bin/postgres" --single -D "$data" postgres 2>&1) || true
      case "$out" in
        *ERROR:*) printf '%s\n' "$out" >&2; exit 1 ;;
      esac
    }
    if [ -n "$user" ]; then
      pw=$(printf %s "$${POSTGRES_PASSWORD:-}" | sed "s/'/''/g")
      single "CREATE ROLE \"$user\" LOGIN$${pw:+ PASSWORD '$pw'}"
      echo "created role $user"
    fi
    if [ -n "$db" ]; then
      single "CREATE DATABASE \"$db\"$${user:+ OWNER \"$user\"}"
      echo "created database $db"
    fi
  EOT
}

service "init" {
  command = file.init
  user    = "postgres"
  oneshot = true
}

service "main" {
  command    = "${shell_quote(option.package)}/bin/postgres -D ${shell_quote(option.data_dir)}/data -c config_file=${file.conf}"
  user       = "postgres"
  after      = ["init"]
  stopsignal = "INT"
  ready {
    tcp = option.port
  }
}

image {
  ports   = [option.port]
  volumes = [option.data_dir]
  links = {
    # initdb starts postgres through popen(), which runs /bin/sh.
    "/bin/sh" = "${pkgs.busybox}/bin/sh"
    # A PostgreSQL built against the system's time zones looks only here.
    "/usr/share/zoneinfo" = "${pkgs.tzdata}/share/zoneinfo"
  }
}
