module "app" {
  source = "node"
  src    = path("app")
}
