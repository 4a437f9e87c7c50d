# A Node.js app that counts hits in Redis, next to Apache serving a docroot.
# Build and load it:  nix-docker -b -t demo/webapp examples/webapp/app.hcl

image {
  ports = [8080]
  env = {
    NODE_ENV = "production"
  }
}

service "app" {
  command = "${pkgs.nodejs}/bin/node ${path("app")}/server.js"
  environment = {
    PORT       = "8080"
    REDIS_PORT = "6379"
  }
  user  = "nobody"
  after = ["redis"]
  ready {
    tcp = 8080
  }
}

module "redis" {}

module "web" {
  source        = "httpd"
  document_root = path("www")
  port          = 80
}
