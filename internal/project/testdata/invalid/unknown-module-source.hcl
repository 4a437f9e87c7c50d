module "cache" {
  source = "reddis" # ERROR: Unknown module
}
