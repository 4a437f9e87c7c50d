# nginx in front of a Node.js API: files under public/ are served by nginx,
# everything else is proxied to the API on 127.0.0.1:3000.

service "api" {
  command = "${pkgs.nodejs}/bin/node ${path("api")}/server.js"
  user    = "nobody"
  environment = {
    PORT = "3000"
  }
  ready {
    tcp = 3000
  }
}

module "proxy" {
  source   = "nginx"
  port     = 8080
  root     = path("public")
  proxy_to = 3000
  after    = ["api"]
}
