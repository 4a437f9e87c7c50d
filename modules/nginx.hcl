# nginx: a static document root, a reverse proxy to a local service, or both.
# NixOS counterpart: `services.nginx` with one virtual host (`virtualHosts.<name>`).

option "port" {
  type        = number
  default     = 80
  description = "TCP port nginx listens on. NixOS: `virtualHosts.<name>.listen` = [ { addr = \"0.0.0.0\"; port = ...; } ]."
  validation {
    condition     = is_port(value)
    error_message = "a port is a whole number from 1 to 65535."
  }
}

option "root" {
  type        = string
  default     = ""
  description = "Directory served at /, usually path(\"www\"). Empty: no static files. NixOS: `virtualHosts.<name>.root`."
  validation {
    condition     = value == "" || is_path(value) && can(nginx_quote(value))
    error_message = "root is an absolute, clean path without control characters or \"$\", such as path(\"www\"), or empty."
  }
}

option "proxy_to" {
  type        = number
  default     = 0
  description = "Port of a service in the image that / is proxied to (127.0.0.1:PORT). 0: no proxy. With root set too, files under root win and the rest goes to the service. NixOS: `virtualHosts.<name>.locations.\"/\".proxyPass = \"http://127.0.0.1:PORT\"`."
  validation {
    condition     = value == 0 || is_port(value)
    error_message = "proxy_to is a port from 1 to 65535, or 0."
  }
}

option "php_fpm" {
  type        = string
  default     = ""
  description = "Address of a PHP-FPM pool (for example \"127.0.0.1:9000\" from the php-fpm module) that runs *.php files under root. Empty: no PHP. NixOS has no such option: a locations.\"~ \\\\.php$\" block with fastcgi_pass in its extraConfig, as here."
  validation {
    condition     = value == "" || is_host_port(value)
    error_message = "php_fpm is HOST:PORT, such as \"127.0.0.1:9000\", or empty."
  }
}

option "server_name" {
  type        = string
  default     = "localhost"
  description = "The virtual host's server_name. NixOS: `virtualHosts.<name>.serverName`."
  validation {
    condition     = trimspace(value) != "" && can(nginx_quote(value)) && !can(regex("[\\t\\r\\n]", value))
    error_message = "server_name is one or more names separated by spaces, without control characters or \"$\"."
  }
}

option "extra_config" {
  type        = string
  default     = ""
  description = "More directives for the server block, verbatim. NixOS: `virtualHosts.<name>.extraConfig`."
}

option "package" {
  type        = string
  default     = pkgs.nginx
  description = "The nginx package. NixOS: `package`."
  validation {
    condition     = is_path(value)
    error_message = "package is a store path, such as pkgs.x or nix(\"...\")."
  }
}

file "conf" {
  name = "nginx.conf"
  # nginx -t binds the listen ports, which a build cannot (ports below 1024, or
  # ports in use on the build host), and warns about `user` when not root:
  # test a copy that listens on a socket and has no user line.
  check = "${pkgs.busybox}/bin/sh -ec 'sed -E -e /^user/d -e \"s|^( *)listen [^;]*;|\\1listen unix:$TMPDIR/check.sock;|\" $out > $TMPDIR/nginx.conf && exec \"$0\"/bin/nginx -t -q -e stderr -p $TMPDIR/ -c $TMPDIR/nginx.conf' ${shell_quote(option.package)}"
  text  = <<-EOT
    daemon off;
    user nobody nogroup;
    worker_processes 1;
    error_log stderr;
    # Relative to the prefix: /run/ when running, the build's TMPDIR for the check.
    pid nginx-${module.name}.pid;

    events {
      worker_connections 1024;
    }

    http {
      include ${nginx_quote("${option.package}/conf/mime.types")};
      default_type application/octet-stream;
      access_log /dev/stdout;
      sendfile on;
      client_body_temp_path /tmp/nginx-${module.name}-body;
      proxy_temp_path /tmp/nginx-${module.name}-proxy;
      fastcgi_temp_path /tmp/nginx-${module.name}-fastcgi;
      uwsgi_temp_path /tmp/nginx-${module.name}-uwsgi;
      scgi_temp_path /tmp/nginx-${module.name}-scgi;

      server {
        listen ${option.port};
        server_name ${join(" ", [for n in split(" ", option.server_name) : nginx_quote(n) if n != ""])};
    %{if option.root != ""}
        root ${nginx_quote(option.root)};
        index index.html index.htm${option.php_fpm != "" ? " index.php" : ""};
    %{endif}
    %{if option.proxy_to != 0}
        location @app {
          proxy_pass http://127.0.0.1:${option.proxy_to};
          proxy_set_header Host $host;
          proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
          proxy_set_header X-Forwarded-Proto $scheme;
        }
        location / {
          ${option.root != "" ? "try_files $uri $uri/ @app;" : "try_files /nonexistent @app;"}
        }
    %{endif}
    %{if option.php_fpm != ""}
        location ~ \.php$ {
          try_files $uri =404;
          include ${nginx_quote("${option.package}/conf/fastcgi_params")};
          fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
          fastcgi_pass ${option.php_fpm};
        }
    %{endif}
        ${option.extra_config}
      }
    }
  EOT
}

service "main" {
  command = "${shell_quote(option.package)}/bin/nginx -e stderr -p /run/ -c ${file.conf}"
  ready {
    tcp = option.port
  }
}

image {
  ports = [option.port]
}
