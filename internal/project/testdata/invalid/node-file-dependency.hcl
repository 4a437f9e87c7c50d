module "app" {
  source = "node"
  src    = path("node/file-dependency") # ERROR: Invalid option value
}
