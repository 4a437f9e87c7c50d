# Redis, the in-memory key-value store.
# NixOS counterpart: `services.redis.servers.<name>` (the instance's name is the
# module block's label). The server runs as the user redis (uid 6379) in every
# instance; NixOS makes a user `redis-<name>` per server.

option "port" {
  type        = number
  default     = 6379
  description = "TCP port Redis listens on. NixOS: `port` (whose default is 6379 only for the server named \"\", 0 = no TCP for others)."
}

option "bind" {
  type        = string
  default     = "0.0.0.0"
  description = "Address Redis binds to. Inside a container 0.0.0.0 is reachable only through the ports you publish. NixOS: `bind` (default 127.0.0.1; null there means all addresses)."
}

option "data_dir" {
  type        = string
  default     = "/var/lib/redis"
  description = "Directory for Redis' dump files; declare it as an image volume to keep data across containers. NixOS: `settings.dir`, fixed there to `/var/lib/redis-<name>`."
}

option "package" {
  type        = string
  default     = pkgs.redis
  description = "The Redis package. NixOS: `services.redis.package`, one for all servers."
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
    dir ${option.data_dir}
    daemonize no
    logfile ""
  EOT
}

service "main" {
  command = "${option.package}/bin/redis-server ${file.conf}"
  user    = "redis"
  ready {
    tcp = option.port
  }
}

image {
  ports = [option.port]
}
