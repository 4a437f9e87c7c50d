module "cache" {
  source = "redis"
  bind   = ["0.0.0.0"] # ERROR: Incorrect value type
}
