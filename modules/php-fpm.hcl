# PHP-FPM: a FastCGI pool for nginx, httpd or lighttpd (their php_fpm option).
# NixOS counterpart: `services.phpfpm.pools.<name>` (the instance's name is the
# module block's label). The pool runs as nobody; NixOS requires a user.

option "port" {
  type        = number
  default     = 9000
  description = "TCP port the pool listens on, on 127.0.0.1: give \"127.0.0.1:PORT\" to the web server's php_fpm option. NixOS: `listen` = \"127.0.0.1:PORT\" (a unix socket by default there, `/run/phpfpm/<name>.sock`)."
  validation {
    condition     = is_port(value)
    error_message = "a port is a whole number from 1 to 65535."
  }
}

option "max_children" {
  type        = number
  default     = 5
  description = "pm.max_children: most PHP requests served at once (pm = dynamic). NixOS: `settings.\"pm.max_children\"`."
  validation {
    condition     = value >= 1 && floor(value) == value
    error_message = "max_children is a whole number, at least 1."
  }
}

option "extensions" {
  type        = list(string)
  default     = []
  description = "Extensions added to the package's default set, by their attribute names in php.extensions (such as [\"xsl\", \"shmop\"]): the pool runs pkgs.php.withExtensions ({ enabled, all }: enabled ++ [ all.xsl all.shmop ]), the nixpkgs way (each extension its own store path, listed in the package's lib/php.ini). For the default package only: with another one, give package = nix(\"pkgs.php83.withExtensions (...)\") instead. NixOS has no such option: it takes phpPackage = pkgs.php.withExtensions (...), which is what this does."
  validation {
    condition     = length([for e in value : e if !can(regex("^[a-z][a-z0-9_]*$", e))]) == 0
    error_message = "an extension is named by its attribute in php.extensions: lower-case letters, digits and underscores."
  }
}

option "php_ini" {
  type        = string
  default     = ""
  description = "More php.ini lines, verbatim. NixOS: `phpOptions` (an attribute set there)."
}

option "package" {
  type        = string
  default     = pkgs.php
  description = "The PHP package. NixOS: `phpPackage`."
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
    ${option.php_ini}
  EOT
}

file "conf" {
  name = "php-fpm.conf"
  # php-fpm -t; but extensions builds on pkgs.php: with another package, say so.
  check = (option.package != pkgs.php && length(option.extensions) > 0
    ? "${pkgs.busybox}/bin/sh -c 'echo \"$0\" >&2; exit 1' 'php-fpm: extensions adds to the default package, pkgs.php; give your own package its extensions instead: package = nix(\"pkgs.php83.withExtensions (...)\"), extensions = []'"
  : "${shell_quote(length(option.extensions) == 0 ? option.package : nix(format("pkgs.php.withExtensions ({ enabled, all }: enabled ++ [ %s ])", join(" ", formatlist("all.%s", option.extensions)))))}/bin/php-fpm -t -y $out -n")
  text = <<-EOT
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
  # With extensions: pkgs.php.withExtensions (see the option).
  command = "${shell_quote(length(option.extensions) == 0 ? option.package : nix(format("pkgs.php.withExtensions ({ enabled, all }: enabled ++ [ %s ])", join(" ", formatlist("all.%s", option.extensions)))))}/bin/php-fpm -F -y ${file.conf} -c ${file.ini}"
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
