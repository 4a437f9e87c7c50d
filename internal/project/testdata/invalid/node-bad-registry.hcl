module "app" {
  source   = "node"
  src      = path("node/ok")
  registry = "ftp://mirror.example.com/npm" # ERROR: Invalid option value
}
