# PHP-FPM: a FastCGI pool for nginx, httpd or lighttpd (their php_fpm option).
# Modelled on NixOS' services.phpfpm.pools.<name>: listen, user, pm settings, phpOptions.

option "port" {
  type        = number
  default     = 9000
  description = "TCP port the pool listens on, on 127.0.0.1: give \"127.0.0.1:PORT\" to the web server's php_fpm option."
  validation {
    condition     = is_port(value)
    error_message = "a port is a whole number from 1 to 65535."
  }
}

option "max_children" {
  type        = number
  default     = 5
  description = "pm.max_children: most PHP requests served at once (pm = dynamic)."
  validation {
    condition     = value >= 1 && floor(value) == value
    error_message = "max_children is a whole number, at least 1."
  }
}

option "extensions" {
  type        = list(string)
  default     = []
  description = "Extensions to load from the package's lib/php/extensions, such as [\"pdo\", \"pdo_pgsql\"]. Leave empty with a package that loads its extensions itself, as nixpkgs' php.withExtensions does."
  validation {
    condition     = length([for e in value : e if !can(regex("^[A-Za-z0-9_.-]+$", e))]) == 0
    error_message = "an extension is named by letters, digits, dots, dashes and underscores, such as \"pdo_pgsql\"."
  }
}

option "php_ini" {
  type        = string
  default     = ""
  description = "More php.ini lines, verbatim."
}

option "package" {
  type        = string
  default     = pkgs.php
  description = "The PHP package."
  validation {
    condition     = is_path(value)
    error_message = "package is a store path, such as pkgs.x or nix(\"...\")."
  }
}

file "ini" {
  name = "php.ini"
  text = <<-EOT
    date.timezone = UTC
    display_errors = Off
    log_errors = On
    error_log = /proc/self/fd/2
    %{if length(option.extensions) > 0}
    extension_dir = ${ini_quote("${option.package}/lib/php/extensions")}
    %{endif}
    %{for e in option.extensions}
    extension = ${ini_quote(e)}
    %{endfor}
    ${option.php_ini}
  EOT
}

file "conf" {
  name  = "php-fpm.conf"
  check = "${shell_quote(option.package)}/bin/php-fpm -t -y $out -n"
  text  = <<-EOT
    [global]
    error_log = /proc/self/fd/2
    daemonize = no
    log_level = notice

    [www]
    listen = 127.0.0.1:${option.port}
    user = nobody
    group = nogroup
    pm = dynamic
    pm.max_children = ${option.max_children}
    pm.start_servers = 1
    pm.min_spare_servers = 1
    pm.max_spare_servers = ${max(1, floor(option.max_children / 2))}
    catch_workers_output = yes
    decorate_workers_output = no
    clear_env = no
  EOT
}

service "main" {
  command = "${shell_quote(option.package)}/bin/php-fpm -F -y ${file.conf} -c ${file.ini}"
  ready {
    tcp = option.port
  }
  signals = ["USR1", "USR2"]
}

image {
  links = {
    # Debian-built PHP looks for time zones only here.
    "/usr/share/zoneinfo" = "${pkgs.tzdata}/share/zoneinfo"
  }
}
