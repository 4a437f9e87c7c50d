# lighttpd serving a document root.
# NixOS counterpart: `services.lighttpd`.

option "document_root" {
  type        = string
  description = "Directory served at /, usually path(\"www\"). NixOS: `document-root`."
  validation {
    condition     = is_path(value) && can(lighttpd_quote(value))
    error_message = "document_root is an absolute, clean path without control characters, such as path(\"www\")."
  }
}

option "port" {
  type        = number
  default     = 80
  description = "TCP port lighttpd listens on. NixOS: `port`."
  validation {
    condition     = is_port(value)
    error_message = "a port is a whole number from 1 to 65535."
  }
}

option "php_fpm" {
  type        = string
  default     = ""
  description = "Address of a PHP-FPM pool, as \"HOST:PORT\" (for example \"127.0.0.1:9000\"), that runs *.php files. Empty: no PHP. NixOS has no such option: enableModules = [ \"mod_fastcgi\" ] and a fastcgi.server line in extraConfig, as here."
  validation {
    condition     = value == "" || is_host_port(value)
    error_message = "php_fpm is HOST:PORT, such as \"127.0.0.1:9000\", or empty."
  }
}

option "extra_config" {
  type        = string
  default     = ""
  description = "More lighttpd.conf lines, verbatim. NixOS: `extraConfig`."
}

option "package" {
  type        = string
  default     = pkgs.lighttpd
  description = "The lighttpd package. NixOS: `package`."
  validation {
    condition     = is_path(value)
    error_message = "package is a store path, such as pkgs.x or nix(\"...\")."
  }
}

file "conf" {
  name  = "lighttpd.conf"
  check = "${shell_quote(option.package)}/bin/lighttpd -tt -f $out -m ${shell_quote(option.package)}/lib"
  text  = <<-EOT
    server.document-root = ${lighttpd_quote(option.document_root)}
    server.port = ${option.port}
    server.username = "nobody"
    server.groupname = "nogroup"
    server.upload-dirs = ( "/tmp" )
    server.modules = ( "mod_access"${option.php_fpm != "" ? ", \"mod_fastcgi\"" : ""} )
    index-file.names = ( "index.html", "index.htm"${option.php_fpm != "" ? ", \"index.php\"" : ""} )
    mimetype.assign = (
      ".html" => "text/html; charset=utf-8",
      ".htm" => "text/html; charset=utf-8",
      ".css" => "text/css",
      ".js" => "text/javascript",
      ".json" => "application/json",
      ".txt" => "text/plain; charset=utf-8",
      ".svg" => "image/svg+xml",
      ".png" => "image/png",
      ".jpg" => "image/jpeg",
      ".gif" => "image/gif",
      ".ico" => "image/x-icon",
    )
    %{if option.php_fpm != ""}
    fastcgi.server = ( ".php" => (( "host" => ${lighttpd_quote(regex("^\\[?([^]]*)\\]?:[0-9]+$", option.php_fpm)[0])}, "port" => ${regex(":([0-9]+)$", option.php_fpm)[0]} )) )
    %{endif}
    ${option.extra_config}
  EOT
}

service "main" {
  command = "${shell_quote(option.package)}/bin/lighttpd -D -f ${file.conf} -m ${shell_quote(option.package)}/lib"
  ready {
    tcp = option.port
  }
}

image {
  ports = [option.port]
}
