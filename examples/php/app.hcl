# One PHP-FPM pool behind three web servers: nginx on 8080, Apache httpd on
# 8081, lighttpd on 8082, all serving www/.

module "php" {
  source = "php-fpm"
  port   = 9000
}

module "nginx" {
  source  = "nginx"
  port    = 8080
  root    = path("www")
  php_fpm = "127.0.0.1:9000"
  after   = ["php"]
}

module "httpd" {
  source        = "httpd"
  port          = 8081
  document_root = path("www")
  php_fpm       = "127.0.0.1:9000"
  after         = ["php"]
}

module "lighttpd" {
  source        = "lighttpd"
  port          = 8082
  document_root = path("www")
  php_fpm       = "127.0.0.1:9000"
  after         = ["php"]
}
