# TEST AND DEMO DATA: a tiny stand-in for nixpkgs, for machines that cannot reach
# nixpkgs or a binary cache. It repackages the host's Debian 12 binaries into store
# paths laid out like their nixpkgs namesakes. See README.md next to this file.
#
#   nix-build -I nixpkgs=testdata/nixpkgs '<nixpkgs>' -A redis
#   import <nixpkgs> { }      # config, overlays, ... are accepted and ignored
#
# Shared libraries live in library packages (glibc, openssl, zlib, ...) exactly once;
# programs reference them through DT_RPATH, so Nix records the references itself.
# Its packages read the host's /usr, so they are built with the sandbox off, once and
# apart: scripts/setup runs `nix-build --option sandbox false prebuild.nix` as root.
# Everything built on top of them (writeText, runCommand, nix-docker's files) takes
# the sandbox as Nix sets it (on, on Linux).
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
  #   libs     sonames copied from ${hostLibDir} into $out/lib (or absolute host paths)
  #   bins     "HOSTFILE OUTPATH" ELF programs (or other ELF files) to copy and patch
  #   moddirs  "HOSTDIR OUTDIR": every *.so in HOSTDIR, copied and patched
  #   skip     basenames of modules in moddirs not to copy (e.g. postgres' llvmjit.so)
  #   files    "HOSTPATH OUTPATH": plain files or trees, copied as they are
  #   links    "OUTPATH TARGET": symlinks
  #   deps     library packages this one loads libraries from (transitively closed here)
  #   track    extra host files whose content should key the derivation
  #   patchElf false only for glibc, which must never be patchelf'ed
  mkDebianPackage =
    { pname, version, libs ? [ ], bins ? [ ], moddirs ? [ ], skip ? [ ], files ? [ ], links ? [ ]
    , deps ? [ ], track ? [ ], patchElf ? true, postInstall ? "", ... }@args:
    let
      allDeps = closeDeps deps;
      libPaths = map (so: if builtins.substring 0 1 so == "/" then so else "${hostLibDir}/${so}") libs;
      binPaths = map (l: builtins.head (builtins.split " " l)) bins;
      modPaths = concatMap (l:
        let dir = builtins.head (builtins.split " " l);
        in map (n: "${dir}/${n}") (filter (n: !(elem n skip)) (soFilesIn dir))) moddirs;
      drv = derivation {
        name = "${pname}-${version}";
        inherit system pname version postInstall;
        builder = sh;
        args = [ "sh" "-e" ./builder.sh ];
        libs = concatStringsSep " " libs;
        bins = lines bins;
        moddirs = lines moddirs;
        skip = concatStringsSep " " skip;
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

  # Libraries more than one program loads (postgresql, mariadb, php, apacheHttpd, redis),
  # each in its own package under its nixpkgs attribute name.
  lz4 = mkDebianPackage { pname = "lz4"; version = "1.9.4"; libs = [ "liblz4.so.1" ]; deps = [ glibc ]; };
  libcap = mkDebianPackage { pname = "libcap"; version = "2.66"; libs = [ "libcap.so.2" ]; deps = [ glibc ]; };
  libgpg-error = mkDebianPackage { pname = "libgpg-error"; version = "1.46"; libs = [ "libgpg-error.so.0" ]; deps = [ glibc ]; };
  libgcrypt = mkDebianPackage { pname = "libgcrypt"; version = "1.10.1"; libs = [ "libgcrypt.so.20" ]; deps = [ glibc libgpg-error ]; };
  # nixpkgs: systemdLibs (systemd's libraries only).
  systemdLibs = mkDebianPackage {
    pname = "systemd-minimal-libs"; version = "252.38";
    libs = [ "libsystemd.so.0" ];
    deps = [ glibc libcap libgcrypt lz4 xz zstd ];
  };
  libcap_ng = mkDebianPackage { pname = "libcap-ng"; version = "0.8.3"; libs = [ "libcap-ng.so.0" ]; deps = [ glibc ]; };
  audit = mkDebianPackage { pname = "audit"; version = "3.0.9"; libs = [ "libaudit.so.1" ]; deps = [ glibc libcap_ng ]; };
  pam = mkDebianPackage { pname = "linux-pam"; version = "1.5.2"; libs = [ "libpam.so.0" ]; deps = [ glibc audit ]; };
  libffi = mkDebianPackage { pname = "libffi"; version = "3.4.4"; libs = [ "libffi.so.8" ]; deps = [ glibc ]; };
  libtasn1 = mkDebianPackage { pname = "libtasn1"; version = "4.19.0"; libs = [ "libtasn1.so.6" ]; deps = [ glibc ]; };
  libunistring = mkDebianPackage { pname = "libunistring"; version = "1.0"; libs = [ "libunistring.so.2" ]; deps = [ glibc ]; };
  libidn2 = mkDebianPackage { pname = "libidn2"; version = "2.3.3"; libs = [ "libidn2.so.0" ]; deps = [ glibc libunistring ]; };
  p11-kit = mkDebianPackage { pname = "p11-kit"; version = "0.24.1"; libs = [ "libp11-kit.so.0" ]; deps = [ glibc libffi ]; };
  gnutls = mkDebianPackage {
    pname = "gnutls"; version = "3.7.9";
    libs = [ "libgnutls.so.30" ];
    deps = [ glibc p11-kit libidn2 libunistring libtasn1 nettle gmp ];
  };
  cyrus_sasl = mkDebianPackage { pname = "cyrus-sasl"; version = "2.1.28"; libs = [ "libsasl2.so.2" ]; deps = [ glibc ]; };
  openldap = mkDebianPackage {
    pname = "openldap"; version = "2.5.13";
    libs = [ "libldap-2.5.so.0" "liblber-2.5.so.0" ];
    deps = [ glibc cyrus_sasl gnutls ];
  };
  keyutils = mkDebianPackage { pname = "keyutils"; version = "1.6.3"; libs = [ "libkeyutils.so.1" ]; deps = [ glibc ]; };
  # libcom_err comes with krb5 in nixpkgs too.
  krb5 = mkDebianPackage {
    pname = "krb5"; version = "1.20.1";
    libs = [ "libgssapi_krb5.so.2" "libkrb5.so.3" "libk5crypto.so.3" "libkrb5support.so.0" "libcom_err.so.2" ];
    deps = [ glibc keyutils ];
  };
  icu = mkDebianPackage {
    pname = "icu4c"; version = "72.1";
    libs = [ "libicuuc.so.72" "libicudata.so.72" "libicui18n.so.72" "libicuio.so.72" ];
    deps = [ glibc libgcc ];
  };
  libxml2 = mkDebianPackage { pname = "libxml2"; version = "2.9.14"; libs = [ "libxml2.so.2" ]; deps = [ glibc icu xz zlib ]; };
  libmd = mkDebianPackage { pname = "libmd"; version = "1.0.4"; libs = [ "libmd.so.0" ]; deps = [ glibc ]; };
  libbsd = mkDebianPackage { pname = "libbsd"; version = "0.11.7"; libs = [ "libbsd.so.0" ]; deps = [ glibc libmd ]; };
  ncurses = mkDebianPackage { pname = "ncurses"; version = "6.4"; libs = [ "libtinfo.so.6" "libncurses.so.6" "libncursesw.so.6" ]; deps = [ glibc ]; };
  libedit = mkDebianPackage { pname = "libedit"; version = "20221030-3.1"; libs = [ "libedit.so.2" ]; deps = [ glibc ncurses libbsd ]; };
  # PostgreSQL's client library (nixpkgs: libpq, also postgresql.lib).
  libpq = mkDebianPackage {
    pname = "libpq"; version = "15.18";
    libs = [ "libpq.so.5" ];
    deps = [ glibc openssl krb5 openldap ];
  };
  # Libraries that apacheHttpd and php's extensions (curl, xsl, zip, ...) share, or
  # that one php extension loads; nixpkgs keeps each in a package of this name.
  nghttp2 = mkDebianPackage { pname = "nghttp2"; version = "1.52.0"; libs = [ "libnghttp2.so.14" ]; deps = [ glibc ]; };
  # libcurl with the libraries only it loads (rtmp, ssh2, psl).
  curl = mkDebianPackage {
    pname = "curl"; version = "7.88.1";
    libs = [ "libcurl.so.4" "librtmp.so.1" "libssh2.so.1" "libpsl.so.5" ];
    deps = [ glibc nghttp2 libidn2 libunistring openssl krb5 openldap zstd brotli zlib gnutls nettle gmp ];
  };
  libxslt = mkDebianPackage {
    pname = "libxslt"; version = "1.1.35";
    libs = [ "libxslt.so.1" "libexslt.so.0" ];
    deps = [ glibc libxml2 libgcrypt ];
  };
  bzip2 = mkDebianPackage { pname = "bzip2"; version = "1.0.8"; libs = [ "libbz2.so.1.0" ]; deps = [ glibc ]; };
  libzip = mkDebianPackage { pname = "libzip"; version = "1.7.3"; libs = [ "libzip.so.4" ]; deps = [ glibc bzip2 openssl zlib ]; };
  sqlite = mkDebianPackage { pname = "sqlite"; version = "3.40.1"; libs = [ "libsqlite3.so.0" ]; deps = [ glibc ]; };
  oniguruma = mkDebianPackage { pname = "oniguruma"; version = "6.9.8"; libs = [ "libonig.so.5" ]; deps = [ glibc ]; };
  # unixODBC's driver manager, with libltdl (libtool's dlopen wrapper) that only it loads.
  unixODBC = mkDebianPackage { pname = "unixODBC"; version = "2.3.11"; libs = [ "libodbc.so.2" "libltdl.so.7" ]; deps = [ glibc ]; };
  # UW IMAP's c-client (nixpkgs: uwimap); Debian keeps it in /usr/lib.
  uwimap = mkDebianPackage {
    pname = "uw-imap"; version = "2007f";
    libs = [ "/usr/lib/libc-client.so.2007e" ];
    deps = [ glibc pam openssl krb5 ];
  };

  # Time zone database: share/zoneinfo (symlinks inside it kept as symlinks).
  tzdata = mkDebianPackage {
    pname = "tzdata"; version = "2025b";
    track = [ "/usr/share/zoneinfo/Etc/UTC" "/usr/share/zoneinfo/Europe/Berlin" "/usr/share/zoneinfo/America/New_York" "/usr/share/zoneinfo/tzdata.zi" ];
    postInstall = ''
      mkdir -p $out/share
      cp -R /usr/share/zoneinfo $out/share/zoneinfo
    '';
  };

  # ---------------------------------------------------------------- programs
  redis = mkDebianPackage {
    pname = "redis"; version = "7.0.15";
    # Debian's redis-server is a symlink to redis-check-rdb: one binary dispatching on argv[0].
    bins = [ "/usr/bin/redis-check-rdb bin/redis-server" "/usr/bin/redis-cli bin/redis-cli"
             "/usr/bin/redis-benchmark bin/redis-benchmark" ];
    links = [ "bin/redis-check-rdb redis-server" "bin/redis-check-aof redis-server"
              "bin/redis-sentinel redis-server" ];
    deps = [ glibc libgcc openssl xz zstd systemdLibs ];
    libs = [ "libjemalloc.so.2" "liblzf.so.1" ];
  };

  apacheHttpd = mkDebianPackage {
    pname = "apache-httpd"; version = "2.4.71";
    bins = [ "/usr/sbin/apache2 bin/httpd" "/usr/bin/ab bin/ab" "/usr/bin/htpasswd bin/htpasswd" ];
    moddirs = [ "/usr/lib/apache2/modules modules" ];
    files = [ "/etc/mime.types conf/mime.types" "/etc/apache2/magic conf/magic"
              "/usr/share/apache2/error error" "/usr/share/apache2/icons icons" ];
    track = [ "/etc/mime.types" "/etc/apache2/magic" ];
    deps = [ glibc libgcc openssl zlib zstd xz pcre2 libxcrypt nettle gmp brotli expat libuuid apr aprutil
             icu libxml2 krb5 keyutils openldap cyrus_sasl gnutls p11-kit libffi libtasn1 libidn2 libunistring
             curl nghttp2 ];
    # Only Apache's modules load these (mod_md, mod_lua).
    libs = [ "libjansson.so.4" "liblua5.3.so.0" ];
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

  # nixpkgs' stdenv moves sbin/* to bin/ and links sbin -> bin (move-sbin.sh); modules
  # in lib/ (autotools' libdir). Debian compiles the module directory in as
  # /usr/lib/lighttpd: pass -m ${lighttpd}/lib (harmless with nixpkgs).
  lighttpd = mkDebianPackage {
    pname = "lighttpd"; version = "1.4.69";
    bins = [ "/usr/sbin/lighttpd bin/lighttpd" "/usr/sbin/lighttpd-angel bin/lighttpd-angel" ];
    links = [ "sbin bin" ];
    moddirs = [ "/usr/lib/lighttpd lib" ];
    deps = [ glibc openssl zlib zstd pcre2 libxcrypt nettle gmp brotli ];
    libs = [ "libxxhash.so.0" "libdeflate.so.0" ];
  };

  # PostgreSQL 15 (Debian's postgresql-15). Debian's binaries know their directories
  # only relative to the compiled-in bindir /usr/lib/postgresql/15/bin: postgres,
  # initdb, ... find share/ and lib/ by replacing that bindir suffix of their own
  # (symlink-resolved) location, so the real programs live in lib/postgresql/15/bin
  # (bin/* are symlinks to them), share is found as share/postgresql/15 and
  # pkglibdir as lib/postgresql/15/lib: both are symlinks back into the nixpkgs
  # layout (share/postgresql, lib/*.so). The time zone directory is compiled in as
  # /usr/share/zoneinfo (--with-system-tzdata; nixpkgs points it at its tzdata).
  postgresql = let pgbin = "/usr/lib/postgresql/15/bin"; in mkDebianPackage {
    pname = "postgresql"; version = "15.18";
    bins = map (n: "${pgbin}/${n} lib/postgresql/15/bin/${n}")
      (filter (n: n != "postmaster") (attrNames (readDir (need "postgresql-15" pgbin))));
    moddirs = [ "/usr/lib/postgresql/15/lib lib" ];
    skip = [ "llvmjit.so" ];          # JIT: needs libLLVM (~100 MiB); nixpkgs: postgresql.withJIT
    files = [ "/usr/share/postgresql/15 share/postgresql" ];
    track = [ "/usr/share/postgresql/15/postgres.bki" "/usr/share/postgresql/15/catalog_version"
              "/usr/share/postgresql/15/extension/plpgsql.control" "/usr/share/postgresql/15/timezonesets/Default" ];
    deps = [ glibc libgcc openssl zlib zstd lz4 xz libxml2 icu pam krb5 openldap systemdLibs libpq libuuid
             pcre2 ncurses libgcrypt libxslt ];
    # Only postgres' own modules or psql load these.
    libs = [ "libreadline.so.8" "libselinux.so.1" ];
    postInstall = ''
      rm -rf "$out/share/postgresql/man"
      ln -s . "$out/share/postgresql/15"
      ln -s ../.. "$out/lib/postgresql/15/lib"
      ln -s postgres "$out/lib/postgresql/15/bin/postmaster"
      mkdir -p "$out/bin"
      for f in "$out"/lib/postgresql/15/bin/*; do
        ln -s "../lib/postgresql/15/bin/''${f##*/}" "$out/bin/''${f##*/}"
      done
    '';
  };

  # MariaDB 10.11 (Debian's mariadb-server + mariadb-client). Every Debian tool is a
  # 4.5 MiB static-libmariadb binary, so only the ones a service needs are included.
  # Paths are found relative to --basedir (set it to the package). The shell scripts
  # (mariadb-install-db) run under the store's busybox, with its applets on PATH.
  mariadb = mkDebianPackage {
    pname = "mariadb-server"; version = "10.11.19";
    bins = [ "/usr/sbin/mariadbd bin/mariadbd" ]
      ++ map (n: "/usr/bin/${n} bin/${n}")
           [ "mariadb" "mariadb-admin" "mariadb-dump" "mariadb-check" "mariadb-upgrade"
             "mariadb-tzinfo-to-sql" "my_print_defaults" "resolveip" ];
    moddirs = [ "/usr/lib/mysql/plugin lib/mysql/plugin" ];
    skip = [ "auth_pam.so" "auth_pam_v1.so" ];   # need PAM config and a setuid helper
    files = [ "/usr/share/mysql share/mysql" "/usr/bin/mariadb-install-db bin/mariadb-install-db" ];
    track = [ "/usr/bin/mariadb-install-db" "/usr/share/mysql/mysql_system_tables.sql"
              "/usr/share/mysql/mysql_system_tables_data.sql" "/usr/share/mysql/english/errmsg.sys"
              "/usr/share/mysql/charsets/Index.xml" ];
    deps = [ glibc libgcc openssl zlib pcre2 libxcrypt systemdLibs libedit ncurses ];
    libs = [ "liburing.so.2" "libaio.so.1" "libnuma.so.1" ];
    links = [ "sbin/mariadbd ../bin/mariadbd" "sbin/mysqld ../bin/mariadbd" "bin/mysqld mariadbd"
              "bin/mysql mariadb" "bin/mysqladmin mariadb-admin" "bin/mysqldump mariadb-dump"
              "bin/mysqlcheck mariadb-check" "bin/mysql_upgrade mariadb-upgrade"
              "bin/mysql_tzinfo_to_sql mariadb-tzinfo-to-sql" "bin/mysql_install_db mariadb-install-db" ];
    postInstall = ''
      rm -f "$out/share/mysql/debian-start.inc.sh" "$out/share/mysql/mini-benchmark" \
            "$out/share/mysql/wsrep_notify" "$out/share/mysql/echo_stderr"
      f=$out/bin/mariadb-install-db
      sed -i -e "1s|^#!.*|#!${busybox}/bin/sh|" \
             -e "2i PATH=${busybox}/bin:\''${PATH:-}; export PATH" "$f"
    '';
  };

  # PHP 8.2, laid out as nixpkgs lays it out (pkgs/development/interpreters/php/generic.nix,
  # pkgs/top-level/php-packages.nix):
  #   php.unwrapped           bin/php, bin/php-fpm (sbin -> bin), etc/php.ini; no extension loaded
  #   php.extensions.NAME     one derivation per extension: lib/php/extensions/NAME.so, with
  #                           extensionName, internalDeps, zendExtension as in nixpkgs
  #   php.withExtensions f    f { enabled, all } -> a list; a new php whose lib/php.ini loads
  #                           them (extension=<store path>/lib/php/extensions/NAME.so, each after
  #                           its internalDeps) and whose bin/php, bin/php-fpm set
  #                           PHP_INI_SCAN_DIR to its lib/ unless already set
  #   php.buildEnv { extensions, extraConfig }    the same with more php.ini text
  #   php                     php.unwrapped.withExtensions (nixpkgs' default list, minus gd)
  # Debian compiles filter, openssl, pcntl, session, sodium and zlib into the binary
  # (nixpkgs: separate extensions): their attributes exist, marked builtin, and add no line.
  # Debian's phar is an extension (nixpkgs builds it in): it is always loaded.
  # Compiled-in paths are Debian's: php.ini in /etc/php/8.2/{cli,fpm}, extension_dir
  # /usr/lib/php/20220829, php-fpm.conf /etc/php/8.2/fpm/php-fpm.conf: pass -c and -y.
  phpVersion = "8.2.36";
  phpExtDir = "/usr/lib/php/20220829";
  phpUnwrapped = mkDebianPackage {
    pname = "php"; version = phpVersion;
    bins = [ "/usr/bin/php8.2 bin/php" "/usr/sbin/php-fpm8.2 bin/php-fpm" ];
    files = [ "/usr/lib/php/8.2/php.ini-production etc/php.ini" ];
    track = [ "/usr/lib/php/8.2/php.ini-production" ];
    deps = [ glibc libgcc openssl zlib pcre2 libxml2 icu systemdLibs ];
    libs = [ "libsodium.so.23" "libargon2.so.1" "libapparmor.so.1" "libacl.so.1" ];
    links = [ "sbin bin" ];
  };
  mkPhpExtension = name: { deps ? [ ], internalDeps ? [ ], zendExtension ? false, builtin ? false }:
    if builtin then { extensionName = name; builtin = true; inherit internalDeps zendExtension; }
    else mkDebianPackage {
      pname = "php-${name}"; version = phpVersion;
      bins = [ "${need "php8.2 extension ${name} (scripts/setup installs it)" "${phpExtDir}/${name}.so"} lib/php/extensions/${name}.so" ];
      deps = [ glibc ] ++ deps;
    } // { extensionName = name; inherit internalDeps zendExtension; };
  phpExtensions = let e = phpExtensions; x = mkPhpExtension; in {
    # php8.2-common, -opcache, -readline, -mysql, -pgsql
    calendar = x "calendar" { };       ctype = x "ctype" { };       exif = x "exif" { };
    ffi = x "ffi" { deps = [ libffi ]; };
    fileinfo = x "fileinfo" { deps = [ pcre2 ]; };
    ftp = x "ftp" { deps = [ openssl ]; };
    gettext = x "gettext" { };         iconv = x "iconv" { };
    mysqlnd = x "mysqlnd" { deps = [ openssl zlib ]; };
    mysqli = x "mysqli" { internalDeps = [ e.mysqlnd ]; };
    opcache = x "opcache" { deps = [ pcre2 ]; zendExtension = true; };
    pdo = x "pdo" { };
    pdo_mysql = x "pdo_mysql" { internalDeps = [ e.pdo e.mysqlnd ]; };
    pdo_pgsql = x "pdo_pgsql" { deps = [ libpq ]; internalDeps = [ e.pdo ]; };
    pgsql = x "pgsql" { deps = [ libpq ]; };
    phar = x "phar" { };               posix = x "posix" { };
    readline = x "readline" { deps = [ libedit ]; };
    shmop = x "shmop" { };             sockets = x "sockets" { };
    sysvmsg = x "sysvmsg" { };         sysvsem = x "sysvsem" { };    sysvshm = x "sysvshm" { };
    tokenizer = x "tokenizer" { };
    # php8.2-bcmath, -curl, -gmp, -imap, -intl, -ldap, -mbstring, -odbc, -soap, -sqlite3, -xml, -zip
    bcmath = x "bcmath" { };
    curl = x "curl" { deps = [ curl ]; };
    dom = x "dom" { deps = [ libxml2 ]; };
    gmp = x "gmp" { deps = [ gmp ]; };
    imap = x "imap" { deps = [ uwimap ]; };
    intl = x "intl" { deps = [ libgcc icu ]; };
    ldap = x "ldap" { deps = [ openldap ]; };
    mbstring = x "mbstring" { deps = [ oniguruma ]; };
    odbc = x "odbc" { deps = [ unixODBC ]; };
    pdo_odbc = x "pdo_odbc" { deps = [ unixODBC ]; internalDeps = [ e.pdo ]; };
    pdo_sqlite = x "pdo_sqlite" { deps = [ sqlite ]; internalDeps = [ e.pdo ]; };
    simplexml = x "simplexml" { deps = [ libxml2 ]; };
    soap = x "soap" { deps = [ libxml2 ]; internalDeps = [ e.session ]; };
    sqlite3 = x "sqlite3" { deps = [ sqlite ]; };
    xml = x "xml" { deps = [ libxml2 ]; };
    xmlreader = x "xmlreader" { deps = [ libxml2 ]; internalDeps = [ e.dom ]; };
    xmlwriter = x "xmlwriter" { deps = [ libxml2 ]; };
    xsl = x "xsl" { deps = [ libxslt libxml2 ]; internalDeps = [ e.dom ]; };
    zip = x "zip" { deps = [ libzip ]; };
    # Built into Debian's binary.
    filter = x "filter" { builtin = true; };   openssl = x "openssl" { builtin = true; };
    pcntl = x "pcntl" { builtin = true; };     session = x "session" { builtin = true; };
    sodium = x "sodium" { builtin = true; };   zlib = x "zlib" { builtin = true; };
  };

  # The php.ini lines for a list of extensions: each one's internalDeps first, each
  # extension once (nixpkgs: lib.textClosureList over internalDeps).
  phpIniLines = exts:
    let
      visit = acc: ext:
        if elem ext.extensionName acc.seen then acc
        else
          let after = builtins.foldl' visit acc (ext.internalDeps or [ ]); in
          { seen = after.seen ++ [ ext.extensionName ];
            lines = after.lines ++ (if ext.builtin or false then [ ]
              else [ "${if ext.zendExtension then "zend_" else ""}extension=${ext}/lib/php/extensions/${ext.extensionName}.so" ]); };
    in (builtins.foldl' visit { seen = [ ]; lines = [ ]; } exts).lines;

  # nixpkgs' php.buildEnv / php.withExtensions. fns: the extension functions so far,
  # each applied to { enabled; all; } in turn.
  phpBuildEnv = fns: { extensions ? ({ enabled, ... }: enabled), extraConfig ? "" }:
    let
      allFns = fns ++ [ extensions ];
      enabled = builtins.foldl' (en: f: f { enabled = en; all = phpExtensions; }) [ ] allFns;
      ini = writeText "php-extra-init-${phpVersion}.ini"
        (concatStringsSep "\n" (phpIniLines ([ phpExtensions.phar ] ++ enabled)) + "\n" + extraConfig + "\n");
      self = derivation {
        name = "php-with-extensions-${phpVersion}";
        inherit system ini;
        php = phpUnwrapped;
        sh = "${busybox}/bin/sh";
        builder = sh;
        PATH = "${busybox}/bin";
        # nixpkgs: makeBinaryWrapper --set-default PHP_INI_SCAN_DIR $out/lib (a compiled
        # wrapper); here a busybox sh script doing the same.
        args = [ "sh" "-ec" ''
          mkdir -p $out/bin $out/lib
          ln -s $ini $out/lib/php.ini
          ln -s $php/etc $out/etc
          ln -s bin $out/sbin
          for p in php php-fpm; do
            printf '#!%s\nexport PHP_INI_SCAN_DIR="''${PHP_INI_SCAN_DIR-%s}"\nexec %s "$@"\n' \
              "$sh" "$out/lib" "$php/bin/$p" > $out/bin/$p
            chmod 555 $out/bin/$p
          done
        '' ];
      };
    in self // {
      version = phpVersion;
      unwrapped = phpUnwrapped;
      extensions = phpExtensions;
      enabledExtensions = enabled;
      phpIni = "${self}/lib/php.ini";
      buildEnv = phpBuildEnv allFns;
      withExtensions = f: phpBuildEnv allFns { extensions = f; };
      meta = { description = "php ${phpVersion} with extensions, repackaged from Debian 12 binaries (test data)"; };
    };

  # nixpkgs' default set for PHP 8.2 (pkgs/development/interpreters/php/8.2.nix), but gd:
  # Debian's php8.2-gd pulls libgd3 with AVIF, HEIF, TIFF, WebP, fontconfig (~30 libraries).
  php = phpBuildEnv [ ] {
    # (by name: `with all;` would not shadow this file's curl, gmp, openssl, ... packages)
    extensions = { all, ... }: map (n: all.${n}) [
      "bcmath" "calendar" "curl" "ctype" "dom" "exif" "fileinfo" "filter" "ftp" "gettext" "gmp"
      "iconv" "imap" "intl" "ldap" "mbstring" "mysqli" "mysqlnd" "opcache" "openssl" "pcntl" "pdo"
      "pdo_mysql" "pdo_odbc" "pdo_pgsql" "pdo_sqlite" "pgsql" "posix" "readline" "session"
      "simplexml" "sockets" "soap" "sodium" "sysvsem" "sqlite3" "tokenizer" "xmlreader" "xmlwriter"
      "zip" "zlib"
    ];
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

  # Go (nixpkgs: go, pkgs/development/compilers/go/1.2x.nix): the host's official Go
  # distribution (https://go.dev/dl, unpacked in /usr/local/go), copied as nixpkgs
  # installs it: GOROOT is share/go (bin pkg src lib misc api doc go.env VERSION),
  # bin/go and bin/gofmt link into it. Its programs are static: nothing to patch, no
  # dependencies. nix-docker's init is built with it, in the sandbox.
  goRoot = "/usr/local/go";
  goVersion = builtins.replaceStrings [ "go" ] [ "" ] (builtins.head (builtins.split "\n"
    (builtins.readFile (need "Go from https://go.dev/dl, unpacked in /usr/local/go" "${goRoot}/VERSION"))));
  go = derivation {
    name = "go-${goVersion}";
    inherit system goRoot;
    builder = sh;
    args = [ "sh" "-ec" ''
      [ -d "$goRoot/src" ] || { echo "go: $goRoot is not visible: build the stand-in with the sandbox off (scripts/setup)" >&2; exit 1; }
      mkdir -p "$out/share/go" "$out/bin"
      for f in bin pkg src lib misc api doc go.env VERSION; do cp -R "$goRoot/$f" "$out/share/go/"; done
      for f in "$out"/share/go/bin/*; do ln -s "$f" "$out/bin/"; done
    '' ];
    # The version file and the go command key the derivation (an upgrade changes both).
    srcHash = hashString "sha256" "${hashOf "${goRoot}/VERSION"} ${hashOf "${goRoot}/bin/go"}";
  } // { version = goVersion; meta = { description = "go ${goVersion}, the host's Go distribution (test data)"; }; };

  # GNU bash, for nix-shell (it starts (import <nixpkgs> { }).bashInteractive).
  bashInteractive = mkDebianPackage {
    pname = "bash-interactive"; version = "5.2.15";
    bins = [ "/usr/bin/bash bin/bash" ];
    links = [ "bin/sh bash" ];
    deps = [ glibc ncurses ];
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

  # Node.js projects (npm.nix) and shells (shell.nix): builders written for the
  # stand-in with nixpkgs' interfaces.
  npmBuilders = import ./npm.nix { inherit system busybox sh runCommand; };
  shellBuilders = import ./shell.nix { inherit system sh busybox; };

in {
  inherit glibc libgcc openssl zlib zstd xz pcre2 libxcrypt gmp nettle brotli expat libuuid apr aprutil;
  inherit lz4 libcap libgpg-error libgcrypt systemdLibs libcap_ng audit pam libffi libtasn1 libunistring
    libidn2 p11-kit gnutls cyrus_sasl openldap keyutils krb5 icu libxml2 libmd libbsd ncurses libedit
    libpq tzdata nghttp2 curl libxslt bzip2 libzip sqlite oniguruma unixODBC uwimap;
  inherit redis apacheHttpd nginx nodejs lighttpd busybox postgresql mariadb php;
  inherit writeText runCommand system;
  inherit go;
  inherit bashInteractive;
  inherit (npmBuilders) fetchurl importNpmLock;
  inherit (shellBuilders) stdenv mkShell;
}
