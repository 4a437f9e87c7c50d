module "cache" {
  source = 6379 # ERROR: Incorrect value type
}
