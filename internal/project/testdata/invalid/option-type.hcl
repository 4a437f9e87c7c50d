module "redis" {
  port = "6380" # ERROR: Incorrect value type
}
