# lighttpd serving www/.
module "web" {
  source        = "lighttpd"
  document_root = path("www")
  port          = 8080
}
