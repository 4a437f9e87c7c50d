# Redis, the in-memory key-value store.
# NixOS counterpart: `services.redis.servers.<name>` (the instance's name is the
# module block's label). The server runs as the user redis (uid 6379) in every
# instance; NixOS makes a user `redis-<name>` per server.

option "port" {
  type        = number
  default     = 6379
  description = "TCP port Redis listens on. NixOS: `port` (whose default is 6379 only for the server named \"\", 0 = no TCP for others)."
  validation {
    condition     = is_port(value)
    error_message = "a port is a whole number from 1 to 65535."
  }
}

option "bind" {
  type        = string
  default     = "0.0.0.0"
  description = "Address Redis binds to. Inside a container 0.0.0.0 is reachable only through the ports you publish. NixOS: `bind` (default 127.0.0.1; null there means all addresses)."
  validation {
    condition     = trimspace(value) != "" && length([for a in split(" ", value) : a if !is_host(trimprefix(a, "-"))]) == 0
    error_message = "bind is one or more IP addresses or host names, separated by spaces."
  }
}

option "data_dir" {
  type        = string
  default     = "/var/lib/redis"
  description = "Directory for Redis' dump files; declare it as an image volume to keep data across containers. NixOS: `settings.dir`, fixed there to `/var/lib/redis-<name>`."
  validation {
    condition     = is_path(value) && value != "/"
    error_message = "data_dir is an absolute, clean path without control characters, not /, such as \"/var/lib/redis\"."
  }
}

option "package" {
  type        = string
  default     = pkgs.redis
  description = "The Redis package. NixOS: `services.redis.package`, one for all servers."
  validation {
    condition     = is_path(value)
    error_message = "package is a store path, such as pkgs.x or nix(\"...\")."
  }
}

user "redis" {
  uid  = 6379
  home = "/var/lib/redis"
}

directory "data" {
  path = option.data_dir
  user = "redis"
  mode = "0750"
}

file "conf" {
  name = "redis.conf"
  text = <<-EOT
    port ${option.port}
    bind ${option.bind}
    protected-mode no
    dir ${redis_quote(option.data_dir)}
    daemonize no
    logfile ""
  EOT
}

service "main" {
  command = "${shell_quote(option.package)}/bin/redis-server ${file.conf}"
  user    = "redis"
  ready {
    tcp = option.port
  }
}

image {
  ports = [option.port]
}
