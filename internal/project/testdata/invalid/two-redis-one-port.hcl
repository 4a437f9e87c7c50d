module "cache" {
  source = "redis"
}
module "sessions" { # ERROR: Port used twice
  source = "redis"
}
