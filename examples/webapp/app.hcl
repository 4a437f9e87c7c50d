# A Node.js app (Express, and the redis client from npm, built from its
# package-lock.json) that counts hits in Redis, next to Apache serving a docroot.
# Build and load it:  nix-docker -b -t demo/webapp examples/webapp/app.hcl
# A shell with the same Node.js, node_modules and redis-cli:
#                     nix-docker shell examples/webapp/app.hcl

module "app" {
  source = "node"
  src    = path("app")
  port   = 8080
  after  = ["redis"]
  environment = {
    REDIS_URL = "redis://127.0.0.1:6379"
  }
}

module "redis" {}

module "web" {
  source        = "httpd"
  document_root = path("www")
  port          = 80
}
