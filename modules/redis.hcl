# Redis, the in-memory key-value store.
# Modelled on NixOS' services.redis.servers.<name>: port, bind, data dir.

option "port" {
  type        = number
  default     = 6379
  description = "TCP port Redis listens on."
}

option "bind" {
  type        = string
  default     = "0.0.0.0"
  description = "Address Redis binds to. Inside a container 0.0.0.0 is reachable only through the ports you publish."
}

option "data_dir" {
  type        = string
  default     = "/var/lib/redis"
  description = "Directory for Redis' dump files; declare it as an image volume to keep data across containers."
}

option "package" {
  type        = string
  default     = pkgs.redis
  description = "The Redis package."
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
