module "app" {
  source = "node"
  src    = path("node/git-dependency") # ERROR: Invalid option value
}
