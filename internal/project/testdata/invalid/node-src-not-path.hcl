module "app" {
  source = "node"
  src    = "node/ok" # ERROR: Invalid option value
}
