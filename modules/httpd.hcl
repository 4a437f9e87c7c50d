# Apache httpd serving a document root.
# NixOS counterpart: `services.httpd` with one virtual host (`virtualHosts.<name>`).

option "document_root" {
  type        = string
  description = "Directory served at /, usually path(\"www\") beside the HCL file. NixOS: `virtualHosts.<name>.documentRoot`."
  validation {
    condition     = is_path(value) && can(apache_quote(value))
    error_message = "document_root is an absolute, clean path without control characters or \"$${\", such as path(\"www\")."
  }
}

option "port" {
  type        = number
  default     = 80
  description = "TCP port httpd listens on. NixOS: `virtualHosts.<name>.listen` = [ { port = ...; } ]."
  validation {
    condition     = is_port(value)
    error_message = "a port is a whole number from 1 to 65535."
  }
}

option "admin_addr" {
  type        = string
  default     = "admin@localhost"
  description = "E-mail address of the server administrator (ServerAdmin), shown on error pages. NixOS: `adminAddr`."
  validation {
    condition     = value != "" && can(apache_quote(value))
    error_message = "admin_addr is not empty, and cannot hold control characters or \"$${\" (httpd reads its configuration line by line and expands $${NAME})."
  }
}

option "php_fpm" {
  type        = string
  default     = ""
  description = "Address of a PHP-FPM pool (for example \"127.0.0.1:9000\" from the php-fpm module) that runs *.php files through mod_proxy_fcgi. Empty: no PHP. NixOS has no such option (its enablePHP loads mod_php); there it is extraConfig with a proxy:fcgi handler, as here."
  validation {
    condition     = value == "" || is_host_port(value)
    error_message = "php_fpm is HOST:PORT, such as \"127.0.0.1:9000\", or empty."
  }
}

option "extra_config" {
  type        = string
  default     = ""
  description = "More httpd.conf directives, verbatim. NixOS: `extraConfig`."
}

option "package" {
  type        = string
  default     = pkgs.apacheHttpd
  description = "The Apache httpd package. NixOS: `package`."
  validation {
    condition     = is_path(value)
    error_message = "package is a store path, such as pkgs.x or nix(\"...\")."
  }
}

file "conf" {
  name = "httpd.conf"
  # The check runs in Nix's build sandbox, which has no /run: httpd -t would
  # refuse DefaultRuntimeDir there, so the check defines NIX_DOCKER_CHECK and
  # leaves it at its default.
  check = "${shell_quote(option.package)}/bin/httpd -t -D NIX_DOCKER_CHECK -f $out"
  text  = <<-EOT
    ServerRoot ${apache_quote(option.package)}
    ServerName localhost
    ServerAdmin ${apache_quote(option.admin_addr)}
    Listen ${option.port}
    <IfDefine !NIX_DOCKER_CHECK>
      DefaultRuntimeDir /run
    </IfDefine>
    PidFile /run/httpd-${module.name}.pid

    LoadModule mpm_event_module modules/mod_mpm_event.so
    LoadModule authz_core_module modules/mod_authz_core.so
    LoadModule dir_module modules/mod_dir.so
    LoadModule mime_module modules/mod_mime.so
    <IfModule !unixd_module>
      LoadModule unixd_module modules/mod_unixd.so
    </IfModule>
    <IfModule !log_config_module>
      LoadModule log_config_module modules/mod_log_config.so
    </IfModule>

    User nobody
    Group nogroup
    ErrorLog /dev/stderr
    LogFormat "%h %l %u %t \"%r\" %>s %b" common
    CustomLog /dev/stdout common
    TypesConfig conf/mime.types

    DocumentRoot ${apache_quote(option.document_root)}
    <Directory ${apache_quote(option.document_root)}>
      Require all granted
    </Directory>
    %{if option.php_fpm != ""}
    LoadModule proxy_module modules/mod_proxy.so
    LoadModule proxy_fcgi_module modules/mod_proxy_fcgi.so
    <FilesMatch "\.php$">
      SetHandler "proxy:fcgi://${option.php_fpm}"
    </FilesMatch>
    DirectoryIndex index.php index.html
    %{else}
    DirectoryIndex index.html
    %{endif}
    ${option.extra_config}
  EOT
}

service "main" {
  command = "${shell_quote(option.package)}/bin/httpd -f ${file.conf} -DFOREGROUND"
  ready {
    tcp = option.port
  }
}

image {
  ports = [option.port]
}
