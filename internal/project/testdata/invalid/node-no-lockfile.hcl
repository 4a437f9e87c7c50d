module "app" {
  source = "node"
  src    = path("node/no-lockfile") # ERROR: Invalid option value
}
