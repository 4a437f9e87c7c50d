module "app" { # ERROR: Invalid option value
  source = "node"
  src    = path("node/no-start")
}
