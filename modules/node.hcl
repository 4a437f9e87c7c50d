# A Node.js app, built from its npm project: package.json and package-lock.json
# (lockfile v2 or v3) in src. nixpkgs' importNpmLock builds its dependencies
# (pkgs.importNpmLock.buildNodeModules): each package is fetched by the
# lockfile's integrity hash as a store path of its own, node_modules is one
# store path, the app's own files another, linked to it. devDependencies stay
# out; NODE_ENV is production. A lockfile entry without a resolved URL comes
# from the registry option, else the registry .npmrc in src names, else
# https://registry.npmjs.org. docs/node.md says more.
# NixOS counterpart: none (NixOS runs an app as a systemd service of your own;
# nixpkgs packages Node.js apps with importNpmLock or buildNpmPackage, as here).

option "src" {
  type        = string
  description = "The npm project, given with path(), such as path(\"app\"): a directory beside the HCL file holding package.json and package-lock.json. Its files (without node_modules) are the app's own store path. nixpkgs: `importNpmLock.buildNodeModules { npmRoot = src; }`; NixOS has no such option."
  validation {
    condition     = npm_package(value).problem == ""
    error_message = "src cannot be built from its lockfile:\n${npm_package(value).problem}"
  }
}

option "start" {
  type        = string
  default     = ""
  description = "The command line the service runs, in the app's directory, with node_modules/.bin and Node.js on PATH. Empty: what `npm start` runs (package.json's scripts.start, after scripts.prestart; else `node MAIN`; else `node server.js`). A line with shell syntax ($VAR, &&, |, ...) runs through busybox sh. NixOS has no such option (a systemd unit's ExecStart)."
  validation {
    condition     = value != "" || npm_package(option.src).start != "" || npm_package(option.src).problem != ""
    error_message = "package.json has no scripts.start and no main, and src has no server.js: set start, such as start = \"node index.js\"."
  }
}

option "port" {
  type        = number
  default     = 3000
  description = "TCP port the app listens on: passed as PORT, exposed, and the service is ready once it accepts connections there. NixOS has no such option."
  validation {
    condition     = value >= 1 && value <= 65535
    error_message = "a port is a number from 1 to 65535."
  }
}

option "ready_timeout" {
  type        = number
  default     = 60
  description = "Seconds the app has to accept connections on port before the init gives up on it; services after it wait that long. NixOS has no such option."
  validation {
    condition     = value >= 1 && value <= 86400
    error_message = "the timeout is from 1 to 86400 seconds."
  }
}

option "environment" {
  type        = map(string)
  default     = {}
  description = "Environment variables of the app. They win over the module's: NODE_ENV = \"production\", PORT, PATH (node_modules/.bin, Node.js) and NODE_PATH (node_modules). NixOS has no such option (a systemd unit's Environment)."
}

option "user" {
  type        = string
  default     = "nobody"
  description = "The user the app runs as; declare it with a user block unless it is root or nobody. NixOS has no such option (a systemd unit's User)."
}

option "registry" {
  type        = string
  default     = ""
  description = "The npm registry lockfile entries without a resolved URL come from, such as \"https://registry.npmjs.org/\". Empty: the registry= line of .npmrc in src, else https://registry.npmjs.org. Entries with a resolved URL are fetched from it, by their integrity hash either way. @scope:registry= lines of .npmrc apply to their scopes. NixOS has no such option."
  validation {
    condition     = value == "" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~%!$&()*+,;=:@/-]*)?$", value))
    error_message = "the registry is an http:// or https:// URL without credentials, query or fragment, such as \"https://registry.npmjs.org/\"."
  }
}

option "nodejs" {
  type        = string
  default     = pkgs.nodejs
  description = "The Node.js package: it runs the app and npm builds node_modules with it. nixpkgs: nodejs, nodejs_20, nodejs_22, ... NixOS has no such option."
  validation {
    condition     = is_path(value)
    error_message = "nodejs is a package, such as pkgs.nodejs_22: its bin/node runs the app."
  }
}

locals {
  package = npm_package(option.src)
  start   = option.start != "" ? option.start : local.package.start
  # The init splits a command line into words as a shell would, but expands
  # nothing: a line that needs a shell runs through one.
  needs_shell = can(regex("[$`&|;<>(){}*?~#!\\[\\]\\n]|^\\s*[A-Za-z_][A-Za-z0-9_]*=", local.start))
  # Store path names hold [A-Za-z0-9+._?=-] only and start with no dot:
  # package.json's name and version, other characters dropped.
  store_words   = join("-", regexall("[A-Za-z0-9+._?=-]+", replace(local.package.name != "" ? local.package.name : module.name, "@", "")))
  store_name    = local.store_words == "" || substr(local.store_words, 0, 1) == "." ? "_${local.store_words}" : local.store_words
  store_version = join("-", concat(regexall("[A-Za-z0-9+._?=-]+", local.package.version), local.package.version == "" ? ["0"] : []))
  registry      = trimsuffix(option.registry != "" ? option.registry : (local.package.registry != "" ? local.package.registry : "https://registry.npmjs.org"), "/")

  # node_modules, by nixpkgs' importNpmLock.buildNodeModules, from the lockfile
  # without its devDependencies and with a registry URL for every entry npm
  # wrote without one. Its output keeps node_modules only: npm's copies of the
  # lockfile there name every tarball, which would pull them into the image.
  # It links the Node.js it was built with (native addons are built for it),
  # so that Node.js is always among its references, not only once a package
  # with a bin script arrives: the image's lower layers do not move then.
  node_modules = nix(<<-EOT
    let
      inherit (builtins) attrNames elemAt filter fromJSON getAttr hasAttr head mapAttrs match readFile removeAttrs;
      package = fromJSON (readFile (npmRoot + "/package.json"));
      lock = fromJSON (readFile (npmRoot + "/package-lock.json"));
      dev = filter (p: lock.packages.$${p}.dev or false) (attrNames lock.packages);
      registryOf = name:
        let scope = match "(@[^/]+)/.*" name; in
        if scope != null && hasAttr (head scope) scopes then getAttr (head scope) scopes else registry;
      tarball = path: m:
        let name = m.name or (head (match ".*node_modules/(.*)" path));
        in registryOf name + "/" + name + "/-/" + elemAt (match "(@[^/]+/)?(.*)" name) 1 + "-" + m.version + ".tgz";
      withURL = path: m:
        if path == "" || m ? resolved || m.link or false || m.inBundle or false then m
        else m // { resolved = tarball path m; };
    in
    pkgs.importNpmLock.buildNodeModules {
      inherit npmRoot nodejs;
      # importNpmLock names its sources' path after package.json's name and
      # version: the store-safe ones.
      package = removeAttrs package [ "devDependencies" ] // { name = storeName; version = storeVersion; };
      packageLock = lock // {
        packages = mapAttrs withURL (removeAttrs lock.packages dev)
          // { "" = removeAttrs lock.packages."" [ "devDependencies" ]; };
      };
      derivationArgs = {
        pname = storeName + "-node-modules";
        version = storeVersion;
        nixDockerModule = instance;
        inherit nodejs;
        postInstall = "rm -f $out/package.json $out/package-lock.json $out/node_modules/.package-lock.json; mkdir -p $out/node_modules; ln -s \"$nodejs\" $out/nodejs";
      };
    }
  EOT
  , { npmRoot = option.src, nodejs = option.nodejs, registry = local.registry, scopes = local.package.scopes, instance = module.name, storeName = local.store_name, storeVersion = local.store_version })

  # The app's own files, with node_modules linked in where Node.js looks for
  # it (require and import resolve from the file's own directory).
  app = nix(<<-EOT
    pkgs.runCommand name { inherit src nodeModules; } ''
      cp -R "$src" "$out"
      chmod -R u+w "$out"
      rm -rf "$out/node_modules"
      ln -s "$nodeModules/node_modules" "$out/node_modules"
    ''
  EOT
  , { src = option.src, nodeModules = local.node_modules, name = "${local.store_name}-${local.store_version}" })
}

service "main" {
  command     = local.needs_shell ? "${pkgs.busybox}/bin/sh -c ${shell_quote(local.start)}" : local.start
  directory   = local.app
  user        = option.user
  stopasgroup = true
  killasgroup = true
  environment = merge({
    NODE_ENV  = "production"
    PORT      = tostring(option.port)
    PATH      = "${local.app}/node_modules/.bin:${option.nodejs}/bin"
    NODE_PATH = "${local.node_modules}/node_modules"
  }, option.environment)
  ready {
    tcp     = option.port
    timeout = option.ready_timeout
  }
}

image {
  ports = [option.port]
}
