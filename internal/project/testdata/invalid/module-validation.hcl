module "web" {
  source = "nginx"
  port   = 70000 # ERROR: Invalid option value
}
