module "app" {
  source = "node"
  src    = path("node/out-of-sync") # ERROR: Invalid option value
}
