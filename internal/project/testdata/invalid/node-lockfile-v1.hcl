module "app" {
  source = "node"
  src    = path("node/lockfile-v1") # ERROR: Invalid option value
}
