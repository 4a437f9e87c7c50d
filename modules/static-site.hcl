# A static web site with sensible defaults: nginx serving a directory, with
# an index page, MIME types and gzip for text.
# NixOS counterpart: `services.nginx.virtualHosts.<name>` with root and
# recommendedGzipSettings (this module is the nginx module with those set).

option "root" {
  type        = string
  description = "Directory to serve, usually path(\"site\"). NixOS: `virtualHosts.<name>.root`."
  validation {
    condition     = is_path(value) && can(nginx_quote(value))
    error_message = "root is an absolute, clean path without control characters or \"$\", such as path(\"site\")."
  }
}

option "port" {
  type        = number
  default     = 80
  description = "TCP port the site is served on. NixOS: `virtualHosts.<name>.listen`."
  validation {
    condition     = is_port(value)
    error_message = "a port is a whole number from 1 to 65535."
  }
}

module "main" {
  source       = "nginx"
  root         = option.root
  port         = option.port
  extra_config = <<-EOT
    gzip on;
    gzip_types text/plain text/css text/javascript application/javascript application/json image/svg+xml;
    location / {
      try_files $uri $uri/ $uri.html =404;
    }
  EOT
}
