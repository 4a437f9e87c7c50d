module "web" { # ERROR: Missing required option
  source = "httpd"
}
