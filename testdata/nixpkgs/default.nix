# TEST AND DEMO DATA: a tiny stand-in for nixpkgs, for machines that cannot reach
# nixpkgs or a binary cache. It repackages the host's Debian 12 binaries into store
# paths laid out like their nixpkgs namesakes. See README.md next to this file.
#
#   nix-build -I nixpkgs=testdata/nixpkgs '<nixpkgs>' -A redis
#   import <nixpkgs> { }      # config, overlays, ... are accepted and ignored
#
# Shared libraries live in library packages (glibc, openssl, zlib, ...) exactly once;
# programs reference them through DT_RPATH, so Nix records the references itself.
# Needs sandbox = false: the builder reads the host's /usr.
{ system ? builtins.currentSystem, ... }:

let
  inherit (builtins) attrNames concatStringsSep concatMap elem filter hashFile
    hashString map pathExists readDir;

  hostLibDir = "/usr/lib/x86_64-linux-gnu";  # Debian 12 is merged-/usr: /lib/... is the same

  # The builder: Debian's static busybox, alone in a store directory (it dispatches on
  # argv[0], so the file must keep the name `busybox`).
  busyboxStatic = builtins.path {
    name = "busybox-static";
    path = /usr/bin;
    filter = path: type: baseNameOf path == "busybox";
  };
  sh = "${busyboxStatic}/busybox";

  need = what: path:
    if pathExists path then path
    else throw "testdata/nixpkgs: ${path} (${what}) is missing on this host; see README.md for the Debian packages to install";

  # Content of the host files a package is made from, so an apt upgrade changes the
  # derivation and thus the store path.
  hashOf = path: hashFile "sha256" (need "host file" path);
  soFilesIn = dir: filter (n: builtins.match ".*\\.so" n != null) (attrNames (readDir (need "module directory" dir)));

  # Transitive closure of library packages (each carries its own `libDeps`), in a
  # stable order, without duplicates.
  closeDeps = ds:
    let
      go = seen: todo:
        if todo == [ ] then seen
        else
          let d = builtins.head todo; rest = builtins.tail todo; in
          if elem d.outPath (map (x: x.outPath) seen) then go seen rest
          else go (seen ++ [ d ]) (rest ++ (d.libDeps or [ ]));
    in go [ ] ds;

  lines = concatStringsSep "\n";

  # The one generic builder. Arguments:
  #   libs     sonames copied from ${hostLibDir} into $out/lib
  #   bins     "HOSTFILE OUTPATH" ELF programs (or other ELF files) to copy and patch
  #   moddirs  "HOSTDIR OUTDIR": every *.so in HOSTDIR, copied and patched
  #   files    "HOSTPATH OUTPATH": plain files or trees, copied as they are
  #   links    "OUTPATH TARGET": symlinks
  #   deps     library packages this one loads libraries from (transitively closed here)
  #   track    extra host files whose content should key the derivation
  #   patchElf false only for glibc, which must never be patchelf'ed
  mkDebianPackage =
    { pname, version, libs ? [ ], bins ? [ ], moddirs ? [ ], files ? [ ], links ? [ ]
    , deps ? [ ], track ? [ ], patchElf ? true, postInstall ? "", ... }@args:
    let
      allDeps = closeDeps deps;
      libPaths = map (so: "${hostLibDir}/${so}") libs;
      binPaths = map (l: builtins.head (builtins.split " " l)) bins;
      modPaths = concatMap (l:
        let dir = builtins.head (builtins.split " " l);
        in map (n: "${dir}/${n}") (soFilesIn dir)) moddirs;
      drv = derivation {
        name = "${pname}-${version}";
        inherit system pname version postInstall;
        builder = sh;
        args = [ "sh" "-e" ./builder.sh ];
        libs = concatStringsSep " " libs;
        bins = lines bins;
        moddirs = lines moddirs;
        files = lines files;
        links = lines links;
        deps = concatStringsSep " " (map toString allDeps);
        glibc = if pname == "glibc" then "" else toString glibc;
        patchElf = if patchElf then "1" else "";
        patchelfBin = need "patchelf (apt-get install patchelf)" "/usr/bin/patchelf";
        # One hash over every host file the package copies (trees: their tracked files).
        srcHash = hashString "sha256"
          (concatStringsSep "\n" (map (p: "${p} ${hashOf p}") (libPaths ++ binPaths ++ modPaths ++ track)));
      };
    in drv // { libDeps = allDeps; meta = { description = "${pname} repackaged from Debian 12 binaries (test data)"; }; };

  # ---------------------------------------------------------------- libraries
  glibc = mkDebianPackage {
    pname = "glibc"; version = "2.36";
    # libgcc_s.so.1 is here, as in nixpkgs' glibc: glibc dlopen()s it for
    # pthread_cancel and unwinding, and every program's RPATH already names glibc.
    libs = [ "ld-linux-x86-64.so.2" "libc.so.6" "libm.so.6" "libmvec.so.1" "libpthread.so.0"
             "libdl.so.2" "librt.so.1" "libresolv.so.2" "libutil.so.1" "libanl.so.1"
             "libBrokenLocale.so.1" "libnsl.so.1" "libthread_db.so.1" "libc_malloc_debug.so.0"
             "libnss_files.so.2" "libnss_dns.so.2" "libnss_compat.so.2" "libnss_hesiod.so.2"
             "libgcc_s.so.1" ];
    patchElf = false;
    links = [ "lib64 lib" ];
  };

  # libstdc++ and libatomic: nixpkgs ships these in gcc's "lib" output
  # (stdenv.cc.cc.lib); libgcc_s.so.1 is in glibc above.
  libgcc = mkDebianPackage {
    pname = "gcc"; version = "12.2.0-lib";
    libs = [ "libstdc++.so.6" "libatomic.so.1" ];
    deps = [ glibc ];
  };

  openssl = mkDebianPackage {
    pname = "openssl"; version = "3.0.19";
    libs = [ "libssl.so.3" "libcrypto.so.3" ];
    deps = [ glibc ];
  };
  zlib = mkDebianPackage { pname = "zlib"; version = "1.2.13"; libs = [ "libz.so.1" ]; deps = [ glibc ]; };
  zstd = mkDebianPackage { pname = "zstd"; version = "1.5.4"; libs = [ "libzstd.so.1" ]; deps = [ glibc ]; };
  xz = mkDebianPackage { pname = "xz"; version = "5.4.1"; libs = [ "liblzma.so.5" ]; deps = [ glibc ]; };
  pcre2 = mkDebianPackage { pname = "pcre2"; version = "10.42"; libs = [ "libpcre2-8.so.0" ]; deps = [ glibc ]; };
  libxcrypt = mkDebianPackage { pname = "libxcrypt"; version = "4.4.33"; libs = [ "libcrypt.so.1" ]; deps = [ glibc ]; };
  gmp = mkDebianPackage { pname = "gmp"; version = "6.2.1"; libs = [ "libgmp.so.10" ]; deps = [ glibc ]; };
  nettle = mkDebianPackage {
    pname = "nettle"; version = "3.8.1";
    libs = [ "libnettle.so.8" "libhogweed.so.6" ];
    deps = [ glibc gmp ];
  };
  brotli = mkDebianPackage {
    pname = "brotli"; version = "1.0.9";
    libs = [ "libbrotlicommon.so.1" "libbrotlienc.so.1" "libbrotlidec.so.1" ];
    deps = [ glibc ];
  };
  expat = mkDebianPackage { pname = "expat"; version = "2.5.0"; libs = [ "libexpat.so.1" ]; deps = [ glibc ]; };
  libuuid = mkDebianPackage { pname = "libuuid"; version = "2.38.1"; libs = [ "libuuid.so.1" ]; deps = [ glibc ]; };
  apr = mkDebianPackage { pname = "apr"; version = "1.7.2"; libs = [ "libapr-1.so.0" ]; deps = [ glibc libuuid ]; };
  aprutil = mkDebianPackage {
    pname = "apr-util"; version = "1.6.3";
    libs = [ "libaprutil-1.so.0" ];
    deps = [ glibc apr expat libxcrypt ];
  };

  # ---------------------------------------------------------------- programs
  redis = mkDebianPackage {
    pname = "redis"; version = "7.0.15";
    # Debian's redis-server is a symlink to redis-check-rdb: one binary dispatching on argv[0].
    bins = [ "/usr/bin/redis-check-rdb bin/redis-server" "/usr/bin/redis-cli bin/redis-cli"
             "/usr/bin/redis-benchmark bin/redis-benchmark" ];
    links = [ "bin/redis-check-rdb redis-server" "bin/redis-check-aof redis-server"
              "bin/redis-sentinel redis-server" ];
    deps = [ glibc libgcc openssl xz zstd ];
    libs = [ "libjemalloc.so.2" "liblzf.so.1" "libsystemd.so.0" "libcap.so.2" "libgcrypt.so.20"
             "libgpg-error.so.0" "liblz4.so.1" ];
  };

  apacheHttpd = mkDebianPackage {
    pname = "apache-httpd"; version = "2.4.71";
    bins = [ "/usr/sbin/apache2 bin/httpd" "/usr/bin/ab bin/ab" "/usr/bin/htpasswd bin/htpasswd" ];
    moddirs = [ "/usr/lib/apache2/modules modules" ];
    files = [ "/etc/mime.types conf/mime.types" "/etc/apache2/magic conf/magic"
              "/usr/share/apache2/error error" "/usr/share/apache2/icons icons" ];
    track = [ "/etc/mime.types" "/etc/apache2/magic" ];
    deps = [ glibc libgcc openssl zlib zstd xz pcre2 libxcrypt nettle gmp brotli expat libuuid apr aprutil ];
    # Only Apache's modules load these (mod_md, mod_ldap, mod_lua, mod_http2, mod_proxy_html, ...).
    libs = [ "libcurl.so.4" "libnghttp2.so.14" "libidn2.so.0" "librtmp.so.1" "libssh2.so.1" "libpsl.so.5"
             "libgssapi_krb5.so.2" "libkrb5.so.3" "libk5crypto.so.3" "libkrb5support.so.0"
             "libcom_err.so.2" "libkeyutils.so.1" "libldap-2.5.so.0" "liblber-2.5.so.0" "libsasl2.so.2"
             "libgnutls.so.30" "libp11-kit.so.0" "libffi.so.8" "libtasn1.so.6" "libunistring.so.2"
             "libjansson.so.4" "liblua5.3.so.0" "libxml2.so.2" "libicuuc.so.72" "libicudata.so.72" ];
  };

  nginx = mkDebianPackage {
    pname = "nginx"; version = "1.22.1";
    bins = [ "/usr/sbin/nginx bin/nginx" ];
    files = map (f: "/etc/nginx/${f} conf/${f}")
              [ "mime.types" "fastcgi_params" "fastcgi.conf" "scgi_params" "uwsgi_params"
                "koi-utf" "koi-win" "win-utf" ]
            ++ [ "/usr/share/nginx/html html" ];
    track = [ "/etc/nginx/mime.types" "/usr/share/nginx/html/index.html" ];
    deps = [ glibc openssl zlib pcre2 libxcrypt ];
  };

  # NodeSource's nodejs 20 deb: a single /usr/bin/node needing only libstdc++/libgcc_s.
  # Debian's own nodejs (18, split into libnode108 + npm) is laid out differently.
  nodejs = if pathExists "${hostLibDir}/libnode.so.108"
    then throw "testdata/nixpkgs: nodejs expects NodeSource's nodejs 20 deb; this host has Debian's nodejs (libnode108)"
    else mkDebianPackage {
    pname = "nodejs"; version = "20.20.2";
    bins = [ "/usr/bin/node bin/node" ];
    files = [ "/usr/lib/node_modules/npm lib/node_modules/npm" ];
    track = [ "/usr/lib/node_modules/npm/package.json" ];
    deps = [ glibc libgcc ];
    postInstall = ''
      for s in npm-cli.js npx-cli.js; do
        sed -i "1s|^#!.*|#!$out/bin/node|" "$out/lib/node_modules/npm/bin/$s"
      done
      ln -s ../lib/node_modules/npm/bin/npm-cli.js "$out/bin/npm"
      ln -s ../lib/node_modules/npm/bin/npx-cli.js "$out/bin/npx"
    '';
  };

  lighttpd = mkDebianPackage {
    pname = "lighttpd"; version = "1.4.69";
    bins = [ "/usr/sbin/lighttpd sbin/lighttpd" "/usr/sbin/lighttpd-angel sbin/lighttpd-angel" ];
    moddirs = [ "/usr/lib/lighttpd lib" ];
    deps = [ glibc openssl zlib zstd pcre2 libxcrypt nettle gmp brotli ];
    libs = [ "libxxhash.so.0" "libdeflate.so.0" ];
  };

  busybox = mkDebianPackage {
    pname = "busybox"; version = "1.35.0";
    # Statically linked: nothing to patch, no dependencies.
    files = [ "${sh} bin/busybox" ];
    track = [ "/usr/bin/busybox" ];
    postInstall = ''
      "$out/bin/busybox" --list-full | while read -r p; do
        case "$p" in
          usr/bin/*) d=bin ;;
          usr/sbin/*) d=sbin ;;
          */*) d=''${p%%/*} ;;
          *) continue ;;
        esac
        n=''${p##*/}
        mkdir -p "$out/$d"
        if [ "$d" = bin ]; then t=busybox; else t=../bin/busybox; fi
        [ -e "$out/$d/$n" ] || ln -s "$t" "$out/$d/$n"
      done
    '';
  };

  # ---------------------------------------------------------------- trivial builders
  # Build scripts run under busybox sh with the busybox applets on PATH.
  writeText = name: text: derivation {
    inherit name system text;
    passAsFile = [ "text" ];
    builder = sh;
    args = [ "sh" "-c" "cp \"$textPath\" \"$out\"" ];
  };

  runCommand = name: env: script: derivation (env // {
    inherit name system;
    builder = sh;
    PATH = "${busybox}/bin";
    args = [ "sh" "-e" (writeText "${name}-builder.sh" script) ];
  });

in {
  inherit glibc libgcc openssl zlib zstd xz pcre2 libxcrypt gmp nettle brotli expat libuuid apr aprutil;
  inherit redis apacheHttpd nginx nodejs lighttpd busybox;
  inherit writeText runCommand system;
}
