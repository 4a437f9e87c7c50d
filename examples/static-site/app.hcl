# A static site: nginx with sensible defaults serving site/.
module "site" {
  source = "static-site"
  root   = path("site")
  port   = 8080
}
