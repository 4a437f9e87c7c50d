# TEST AND DEMO DATA: nixpkgs' fetchurl and importNpmLock for the offline
# stand-in, with their interfaces and behaviour (see README.md, "Node.js
# projects"). Written here from nixpkgs' documented interface
# (pkgs/build-support/node/import-npm-lock): builtins only, no lib, no stdenv.
#
#   fetchurl { url; hash; }          one fixed-output path, fetched by Nix's builtin
#                                    fetcher (<nix/fetchurl.nix>): network allowed,
#                                    output pinned by the hash
#   importNpmLock { npmRoot; }       package.json and package-lock.json with every
#                                    package's `resolved` pointing at its own fetched
#                                    tarball (file:/nix/store/...)
#   importNpmLock.buildNodeModules { npmRoot; nodejs; derivationArgs ? { }; }
#                                    node_modules, installed by npm from those
#                                    tarballs, offline, in the build sandbox; then the
#                                    packages' install scripts (npm rebuild)
{ system, busybox, sh, runCommand }:

let
  inherit (builtins) fromJSON readFile mapAttrs removeAttrs match head substring stringLength toJSON;

  importJSON = path: fromJSON (readFile path);
  hasPrefix = p: s: substring 0 (stringLength p) s == p;

  fetchurl = { url, hash ? "", sha256 ? "", name ? baseNameOf url, ... }:
    import <nix/fetchurl.nix> { inherit url hash sha256 name; };

  # One lockfile entry's source, as importNpmLock's fetchModule finds it.
  fetchModule = npmRoot: module:
    if !(module ? resolved) || module.resolved == null then null
    else
      let scheme = match "(.+)://(.+)" module.resolved; in
      if scheme == null then { outPath = npmRoot + "/${module.resolved}"; }
      else if head scheme == "http" || head scheme == "https" then
        fetchurl { url = module.resolved; hash = module.integrity; }
      else if hasPrefix "git" module.resolved then builtins.fetchGit { url = module.resolved; }
      else throw "importNpmLock: unsupported URL scheme: ${head scheme}";

  importNpmLock =
    { npmRoot ? null
    , package ? importJSON (npmRoot + "/package.json")
    , packageLock ? importJSON (npmRoot + "/package-lock.json")
    , pname ? package.name or "unknown"
    , version ? package.version or "0.0.0"
    }:
    let
      # A dependency's spec, except `latest` and GitHub references, which the
      # lockfile's version replaces.
      lockDeps = mapAttrs (name: spec:
        if spec == "latest" || match "github(.com)?:.+" spec != null
        then packageLock'.packages."node_modules/${name}".version
        else spec);
      packageLock' = packageLock // {
        packages = mapAttrs (_: module:
          let src = fetchModule npmRoot module; in
          removeAttrs module [ "link" "funding" ]
          // (if src != null then { resolved = "file:${src}"; } else { })
          // (if module ? dependencies then { dependencies = lockDeps module.dependencies; } else { })
          // (if module ? optionalDependencies then { optionalDependencies = lockDeps module.optionalDependencies; } else { }))
          packageLock.packages;
      };
      resolvedOf = mapAttrs (name: _: packageLock'.packages."node_modules/${name}".resolved);
      package' = package
        // (if package ? dependencies then { dependencies = resolvedOf package.dependencies; } else { })
        // (if package ? devDependencies then { devDependencies = resolvedOf package.devDependencies; } else { });
    in
    runCommand "${pname}-${version}-sources" {
      inherit pname version;
      package = toJSON package';
      packageLock = toJSON packageLock';
      passAsFile = [ "package" "packageLock" ];
    } ''
      mkdir $out
      cp "$packagePath" $out/package.json
      cp "$packageLockPath" $out/package-lock.json
    '';

  buildNodeModules =
    { npmRoot ? null
    , package ? importJSON (npmRoot + "/package.json")
    , packageLock ? importJSON (npmRoot + "/package-lock.json")
    , nodejs
    , derivationArgs ? { }
    }:
    let
      pname = derivationArgs.pname or "${package.name or "unknown"}-node-modules";
      version = derivationArgs.version or (package.version or "0.0.0");
    in
    derivation (removeAttrs derivationArgs [ "pname" "version" ] // {
      name = "${pname}-${version}";
      inherit system pname version nodejs busybox;
      npmDeps = importNpmLock { inherit npmRoot package packageLock; };
      package = toJSON package;
      packageLock = toJSON packageLock;
      passAsFile = [ "package" "packageLock" ] ++ derivationArgs.passAsFile or [ ];
      nativeBuildInputs = derivationArgs.nativeBuildInputs or [ ];
      builder = sh;
      args = [ "sh" "-e" ./node-modules.sh ];
      checkScript = ./node-modules-check.js;
      shellShim = ./node-sandbox-shell.js;
    });

in
{
  inherit fetchurl;
  importNpmLock = {
    inherit importNpmLock buildNodeModules;
    __functor = self: self.importNpmLock;
  };
}
