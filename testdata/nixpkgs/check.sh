#!/usr/bin/env bash
# Check the offline nixpkgs stand-in (TEST DATA) in testdata/nixpkgs:
#   1. build every attribute (twice: `nix-build --check` proves the rebuild is identical);
#   2. static checks on every closure: interpreter and DT_RPATH point only into the
#      closure, no RUNPATH, no builder busybox, each shared library file lives in exactly
#      one store path, glibc is one and the same store path for all the programs;
#   3. every dynamic ELF of each closure resolves all its libraries in a root holding
#      nothing but the closure (glibc's ld.so --list, chrooted);
#   4. each program runs in a FROM-scratch Docker image made of its closure plus
#      /tmp, /etc/{passwd,group,nsswitch.conf} and a config/docroot.
# Needs root, nix, dockerd. Exits non-zero on the first failure. The packages are
# built with `--option sandbox false` (they copy host files; see README.md), the
# trivial builders with the sandbox as nix.conf has it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export NIX_CONFIG="substituters =
${NIX_CONFIG:-}"
nixb() { nix-build -I "nixpkgs=$here" "$@"; }
nixp() { nixb --option sandbox false "$@"; }    # a package: copies host files

libAttrs=(glibc libgcc openssl zlib zstd xz pcre2 libxcrypt gmp nettle brotli expat libuuid apr aprutil
  lz4 libcap libgpg-error libgcrypt systemdLibs libcap_ng audit pam libffi libtasn1 libunistring libidn2
  p11-kit gnutls cyrus_sasl openldap keyutils krb5 icu libxml2 libmd libbsd ncurses libedit libpq tzdata
  nghttp2 curl libxslt bzip2 libzip sqlite oniguruma unixODBC uwimap)
progAttrs=(redis apacheHttpd nginx nodejs lighttpd busybox postgresql mariadb php)
# php.unwrapped and every extension that is a derivation of its own (not built into
# Debian's binary), as php.extensions.NAME.
phpAttrs=(php.unwrapped $(nix-instantiate --eval --json -I "nixpkgs=$here" -E 'with import <nixpkgs> { };
  builtins.filter (n: php.extensions.${n} ? outPath) (builtins.attrNames php.extensions)' |
  tr -d '[]"' | tr , '\n' | sed 's/^/php.extensions./'))

tag=nixpkgs-check-$$
work=$(mktemp -d /tmp/nixpkgs-check.XXXXXX)
containers=() images=()
cleanup() {
  local rc=$?
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  for i in "${images[@]}"; do docker rmi -f "$i" >/dev/null 2>&1 || true; done
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
  if [ "$rc" = 0 ]; then echo "check.sh: ALL CHECKS PASSED"; else echo "check.sh: FAILED (exit $rc)" >&2; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }

# ------------------------------------------------------------------ 1. build
echo "== building every attribute"
declare -A out
for a in "${libAttrs[@]}" "${progAttrs[@]}" "${phpAttrs[@]}"; do
  out[$a]=$(nixp '<nixpkgs>' -A "$a" --no-out-link) || fail "nix-build -A $a"
  echo "  $a -> ${out[$a]}"
done
echo "== rebuilding every attribute with --check (determinism)"
for a in "${libAttrs[@]}" "${progAttrs[@]}" "${phpAttrs[@]}"; do
  nixp '<nixpkgs>' -A "$a" --no-out-link --check >/dev/null 2>"$work/check.log" \
    || { cat "$work/check.log" >&2; fail "$a: rebuild differs (nix-build --check)"; }
done
ok "rebuilds are bit-identical"

echo "== trivial builders"
rc=$(nixb --no-out-link -E 'with import <nixpkgs> { config = {}; overlays = []; };
  runCommand "check-runcommand" { greeting = writeText "greeting.txt" "hello from writeText"; } "
    mkdir -p $out/etc
    cp $greeting $out/etc/greeting.txt
    echo made-by-runCommand > $out/marker
  "') || fail "runCommand/writeText build"
[ "$(cat "$rc/etc/greeting.txt")" = "hello from writeText" ] || fail "writeText content"
[ "$(cat "$rc/marker")" = "made-by-runCommand" ] || fail "runCommand content"
[ -z "$(nix-store -q --references "$rc")" ] || fail "runCommand output has unexpected references"
ok "writeText and runCommand"

# ------------------------------------------------------------------ layouts
echo "== layouts"
need() { for f in "$@"; do [ -e "$f" ] || fail "missing $f"; done; }
need "${out[redis]}"/bin/{redis-server,redis-cli,redis-benchmark,redis-check-rdb,redis-check-aof,redis-sentinel}
need "${out[apacheHttpd]}"/bin/{httpd,ab,htpasswd} "${out[apacheHttpd]}"/conf/{mime.types,magic} \
     "${out[apacheHttpd]}"/modules/{mod_mpm_event,mod_authz_core,mod_dir,mod_mime,mod_ssl}.so
need "${out[nginx]}"/bin/nginx "${out[nginx]}"/conf/{mime.types,fastcgi_params} "${out[nginx]}"/html/index.html
need "${out[nodejs]}"/bin/{node,npm,npx}
need "${out[lighttpd]}"/bin/{lighttpd,lighttpd-angel} "${out[lighttpd]}"/lib/{mod_accesslog,mod_deflate,mod_openssl}.so
[ "$(readlink "${out[lighttpd]}/sbin")" = bin ] || fail "lighttpd: sbin is not a link to bin"
need "${out[busybox]}"/bin/{busybox,sh,echo,ls,wget} "${out[busybox]}"/sbin/ifconfig
P=${out[postgresql]}
need "$P"/bin/{postgres,postmaster,initdb,pg_ctl,psql,createdb,createuser,pg_isready,pg_dump,pg_config} \
     "$P"/lib/{plpgsql,dict_snowball,pgcrypto,hstore,uuid-ossp}.so \
     "$P"/share/postgresql/{postgres.bki,postgresql.conf.sample,timezonesets/Default,extension/plpgsql.control,tsearch_data/english.stop} \
     "$P"/lib/postgresql/15/{bin/postgres,lib/plpgsql.so} "$P"/share/postgresql/15/postgres.bki
[ ! -e "$P/lib/llvmjit.so" ] || fail "postgresql: llvmjit.so should be left out"
M=${out[mariadb]}
need "$M"/bin/{mariadbd,mysqld,mariadb,mysql,mariadb-admin,mysqladmin,mariadb-dump,mysqldump,mariadb-install-db,mysql_install_db,my_print_defaults,resolveip,mariadb-upgrade} \
     "$M"/sbin/{mariadbd,mysqld} "$M"/lib/mysql/plugin/{ha_archive,auth_ed25519}.so \
     "$M"/share/mysql/{mysql_system_tables.sql,mysql_system_tables_data.sql,fill_help_tables.sql,mysql_sys_schema.sql,maria_add_gis_sp_bootstrap.sql,english/errmsg.sys,charsets/Index.xml}
[ "$(head -1 "$M/bin/mariadb-install-db")" = "#!${out[busybox]}/bin/sh" ] || fail "mariadb-install-db: shebang is not the store's busybox"
need "${out[php]}"/bin/{php,php-fpm} "${out[php]}"/sbin/php-fpm "${out[php]}"/lib/php.ini "${out[php]}"/etc/php.ini \
     "${out[php.unwrapped]}"/bin/{php,php-fpm} "${out[php.unwrapped]}"/etc/php.ini
for a in "${phpAttrs[@]}"; do
  case "$a" in php.extensions.*) need "${out[$a]}/lib/php/extensions/${a#php.extensions.}.so" ;; esac
done
for e in opcache mysqlnd mysqli pdo_pgsql mbstring intl; do
  grep -q "extension=/nix/store/[^/]*-php-$e-[^/]*/lib/php/extensions/$e.so$" "${out[php]}/lib/php.ini" \
    || fail "php: lib/php.ini does not load $e"
done
need "${out[tzdata]}"/share/zoneinfo/{UTC,Etc/UTC,Europe/Berlin,zone.tab}
need "${out[glibc]}"/lib/{ld-linux-x86-64.so.2,libc.so.6,libm.so.6,libpthread.so.0,libdl.so.2,librt.so.1,libresolv.so.2,libnss_files.so.2,libgcc_s.so.1}
need "${out[libgcc]}"/lib/libstdc++.so.6 "${out[openssl]}"/lib/{libssl.so.3,libcrypto.so.3} \
     "${out[zlib]}"/lib/libz.so.1 "${out[pcre2]}"/lib/libpcre2-8.so.0 \
     "${out[apr]}"/lib/libapr-1.so.0 "${out[aprutil]}"/lib/libaprutil-1.so.0
ok "files are where nixpkgs puts them"

# ------------------------------------------------------------------ 2. closures
is_elf() { [[ -f $1 && ! -L $1 && $(head -c 4 "$1" 2>/dev/null) == $'\177ELF' ]]; }
glibcPath=${out[glibc]}
builder=$(nix-instantiate --eval -E "\"\${builtins.path { name = \"busybox-static\"; path = /usr/bin; filter = p: t: baseNameOf p == \"busybox\"; }}\"" | tr -d '"')
nix-store --realise "$builder" >/dev/null 2>&1 || true

echo "== closures and sizes"
declare -A closure
for a in "${progAttrs[@]}" "${libAttrs[@]}"; do
  closure[$a]=$(nix-store -qR "${out[$a]}")
done
for a in "${progAttrs[@]}"; do
  total=0
  echo "-- $a"
  while read -r p; do
    s=$(nix-store -q --size "$p"); total=$((total + s))
    printf '     %8d KiB  %s\n' $((s / 1024)) "$p"
  done <<< "${closure[$a]}"
  printf '     %8d KiB  total (%d paths, NAR size)\n' $((total / 1024)) "$(wc -l <<< "${closure[$a]}")"
done

echo "== static checks"
for a in "${progAttrs[@]}" "${libAttrs[@]}"; do
  if grep -qxF "$builder" <<< "${closure[$a]}"; then fail "$a references the builder busybox $builder"; fi
  while read -r p; do
    [ "$p" = "$glibcPath" ] && continue           # glibc is never patched
    while IFS= read -r -d '' f; do
      is_elf "$f" || continue
      [ -n "$(patchelf --print-needed "$f" 2>/dev/null)" ] || continue   # static
      if readelf -d "$f" | grep -q '(RUNPATH)'; then fail "$f has DT_RUNPATH"; fi
      if interp=$(patchelf --print-interpreter "$f" 2>/dev/null); then
        [ "$interp" = "$glibcPath/lib/ld-linux-x86-64.so.2" ] || fail "$f: interpreter $interp"
      fi
      rp=$(patchelf --print-rpath "$f")
      [ -n "$rp" ] || fail "$f: no RPATH"
      IFS=: read -ra dirs <<< "$rp"
      for d in "${dirs[@]}"; do
        [[ $d == /nix/store/* ]] || fail "$f: RPATH entry outside the store: $d"
        sp=$(cut -d/ -f1-4 <<< "$d")
        grep -qxF "$sp" <<< "${closure[$a]}" || fail "$f: RPATH entry $d is not in the closure of $a"
      done
    done < <(find "$p" -type f -print0)
  done <<< "${closure[$a]}"
done
ok "interpreters and DT_RPATHs point into each closure only; no RUNPATH; no builder reference"

# Each shared library file (lib/*.so*) exists in exactly one store path.
all=$(for a in "${progAttrs[@]}"; do echo "${closure[$a]}"; done | sort -u)
dups=$(while read -r p; do
         [ -d "$p/lib" ] || continue
         find "$p/lib" -maxdepth 1 -type f -name '*.so*' -printf "%f $p\n"
       done <<< "$all" | sort | awk '{ n[$1]++; w[$1] = w[$1] " " $2 } END { for (k in n) if (n[k] > 1) print k ":" w[k] }')
[ -z "$dups" ] || fail "library files present in several store paths:
$dups"
ok "every shared library file lives in exactly one store path"

for a in redis apacheHttpd nginx nodejs lighttpd postgresql mariadb php; do
  grep -qxF "$glibcPath" <<< "${closure[$a]}" || fail "$a does not use $glibcPath"
  [ "$(grep -c -- '-glibc-' <<< "${closure[$a]}")" = 1 ] || fail "$a has several glibc paths"
done
ok "redis, apacheHttpd, nginx, nodejs, lighttpd, postgresql, mariadb, php share one glibc: $glibcPath"

echo "== store paths shared between the programs' closures"
while read -r p; do
  users=()
  for a in "${progAttrs[@]}"; do if grep -qxF "$p" <<< "${closure[$a]}"; then users+=("$a"); fi; done
  if [ "${#users[@]}" -gt 1 ]; then printf '     %-60s %s\n' "$p" "${users[*]}"; fi
done <<< "$all"

# ------------------------------------------------------------------ 3 + 4. images
mkroot() {  # mkroot NAME STOREPATH...: sets r=$work/NAME/root holding the closures and /etc basics
  r=$work/$1/root
  mkdir -p "$r/tmp" "$r/etc" "$r/srv/www"
  chmod 1777 "$r/tmp"
  # shellcheck disable=SC2046
  tar -C / -cf - $(nix-store -qR "${@:2}" | sed 's|^/||') | tar -C "$r" -xf -
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
  printf 'passwd: files\ngroup: files\n' > "$r/etc/nsswitch.conf"
  printf '<html><body>hello from %s</body></html>\n' "$1" > "$r/srv/www/index.html"
  chmod 755 "$r/srv" "$r/srv/www"; chmod 644 "$r/etc/"* "$r/srv/www/index.html"
}
lddsweep() {  # lddsweep ROOT STOREPATH: every dynamic ELF resolves inside ROOT alone
  local r=$1 n=0 f
  while read -r p; do
    [ "$p" = "$glibcPath" ] && continue
    while IFS= read -r -d '' f; do
      is_elf "$f" || continue
      [ -n "$(patchelf --print-needed "$f" 2>/dev/null)" ] || continue
      res=$(chroot "$r" "$glibcPath/lib/ld-linux-x86-64.so.2" --list "$f" 2>&1) || fail "ld.so --list $f in a closure-only root: $res"
      if grep -q 'not found' <<< "$res"; then fail "unresolved in a closure-only root: $f
$res"; fi
      if grep '=>' <<< "$res" | grep -v '=> /nix/store/'; then fail "$f resolves outside the store"; fi
      n=$((n + 1))
    done < <(find "$p" -type f -print0)
  done < <(nix-store -qR "$2")
  ok "$n dynamic ELF files resolve all libraries from the closure alone"
}
mkimage() {  # mkimage NAME ROOT: sets img to the imported FROM-scratch image
  img=$tag-$(tr 'A-Z' 'a-z' <<< "$1"):latest
  images+=("$img")
  du -sh "$2" | awk -v n="$1" '{ print "  image root of " n ": " $1 }'
  tar -C "$2" -cf - . | docker import - "$img" >/dev/null || fail "docker import $1"
}
freeport() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  fail "no free port"
}
start() {  # start NAME IMAGE PORT|- CMD...: sets c to the running container
  c=$tag-$(tr 'A-Z' 'a-z' <<< "$1")
  local image=$2 p=$3 pub=(); shift 3
  if [ "$p" != - ]; then pub=(-p "127.0.0.1:$p:$p"); fi
  containers+=("$c")
  docker run -d --name "$c" "${pub[@]}" "$image" "$@" >/dev/null || fail "docker run $c"
}
http_get() {  # http_get PORT: raw HTTP/1.0 response of GET /
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
  timeout 5 cat <&3 || true
  exec 3<&- 3>&-
}
expect_http() {  # expect_http CONTAINER PORT TEXT
  local resp=""
  for _ in $(seq 60); do
    resp=$( (http_get "$2") 2>/dev/null || true)   # (..): a write to a not yet listening port is SIGPIPE
    if grep -q "$3" <<< "$resp"; then ok "$1 served: $(head -1 <<< "$resp" | tr -d '\r')"; return; fi
    [ "$(docker inspect -f '{{.State.Running}}' "$1")" = true ] || break
    sleep 0.5
  done
  docker logs "$1" >&2 || true
  fail "$1: no HTTP response containing '$3' on 127.0.0.1:$2 (got: $resp)"
}

echo "== redis in a scratch image"
mkroot redis "${out[redis]}"; lddsweep "$r" "${out[redis]}"; mkimage redis "$r"
start redis "$img" - "${out[redis]}/bin/redis-server" --port 6379 --bind 127.0.0.1 --save '' --appendonly no
pong=""
for _ in $(seq 40); do
  pong=$(docker exec "$c" "${out[redis]}/bin/redis-cli" -p 6379 PING 2>&1 || true)
  [ "$pong" = PONG ] && break; sleep 0.5
done
[ "$pong" = PONG ] || { docker logs "$c" >&2; fail "redis: PING answered '$pong'"; }
ok "redis-server answered PING to redis-cli (same closure)"

echo "== apacheHttpd in a scratch image"
port=$(freeport)
mkroot httpd "${out[apacheHttpd]}"; lddsweep "$r" "${out[apacheHttpd]}"
H=${out[apacheHttpd]}
cat > "$r/etc/httpd.conf" <<EOF
ServerRoot $H
ServerName localhost
Listen $port
PidFile /tmp/httpd.pid
DefaultRuntimeDir /tmp
ErrorLog /dev/stderr
LogLevel warn
LoadModule mpm_event_module modules/mod_mpm_event.so
LoadModule authz_core_module modules/mod_authz_core.so
LoadModule dir_module modules/mod_dir.so
LoadModule mime_module modules/mod_mime.so
# dlopen()ed modules with library dependencies of their own (zlib, openssl)
LoadModule deflate_module modules/mod_deflate.so
LoadModule filter_module modules/mod_filter.so
LoadModule ssl_module modules/mod_ssl.so
# Debian builds these two into httpd; nixpkgs builds them as modules
<IfModule !unixd_module>
LoadModule unixd_module modules/mod_unixd.so
</IfModule>
<IfModule !log_config_module>
LoadModule log_config_module modules/mod_log_config.so
</IfModule>
User nobody
Group nogroup
TypesConfig conf/mime.types
DocumentRoot /srv/www
DirectoryIndex index.html
<Directory />
  Require all denied
</Directory>
<Directory /srv/www>
  Require all granted
</Directory>
CustomLog /dev/stdout "%h \"%r\" %>s %b"
AddOutputFilterByType DEFLATE text/html
EOF
chmod 644 "$r/etc/httpd.conf"
mkimage httpd "$r"
start httpd "$img" "$port" "$H/bin/httpd" -DFOREGROUND -f /etc/httpd.conf
expect_http "$c" "$port" "hello from httpd"

echo "== nginx in a scratch image"
port=$(freeport)
mkroot nginx "${out[nginx]}"; lddsweep "$r" "${out[nginx]}"
cat > "$r/etc/nginx.conf" <<EOF
user nobody nogroup;
daemon off;
pid /tmp/nginx.pid;
error_log stderr;
events { }
http {
  include ${out[nginx]}/conf/mime.types;
  access_log /dev/stdout;
  client_body_temp_path /tmp/nginx-client-body;
  proxy_temp_path /tmp/nginx-proxy;
  fastcgi_temp_path /tmp/nginx-fastcgi;
  uwsgi_temp_path /tmp/nginx-uwsgi;
  scgi_temp_path /tmp/nginx-scgi;
  gzip on;
  server {
    listen $port;
    root /srv/www;
    location ~ ^/re[g]ex/(.*)\$ { return 200 "pcre2 \$1"; }
  }
}
EOF
chmod 644 "$r/etc/nginx.conf"
mkimage nginx "$r"
start nginx "$img" "$port" "${out[nginx]}/bin/nginx" -e stderr -c /etc/nginx.conf
expect_http "$c" "$port" "hello from nginx"

echo "== lighttpd in a scratch image"
port=$(freeport)
mkroot lighttpd "${out[lighttpd]}"; lddsweep "$r" "${out[lighttpd]}"
cat > "$r/etc/lighttpd.conf" <<EOF
server.document-root = "/srv/www"
server.port = $port
server.modules = ( "mod_accesslog", "mod_deflate", "mod_openssl" )
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html" )
EOF
chmod 644 "$r/etc/lighttpd.conf"
mkimage lighttpd "$r"
start lighttpd "$img" "$port" "${out[lighttpd]}/bin/lighttpd" -D -f /etc/lighttpd.conf -m "${out[lighttpd]}/lib"
expect_http "$c" "$port" "hello from lighttpd"

echo "== nodejs in a scratch image"
port=$(freeport)
mkroot nodejs "${out[nodejs]}"; lddsweep "$r" "${out[nodejs]}"
mkimage nodejs "$r"
start nodejs "$img" "$port" "${out[nodejs]}/bin/node" -e \
  "require('http').createServer((q, s) => s.end('hello from node ' + process.version + '\n')).listen($port)"
expect_http "$c" "$port" "hello from node v"

echo "== busybox in a scratch image"
mkroot busybox "${out[busybox]}"; mkimage busybox "$r"
got=$(docker run --rm "$img" "${out[busybox]}/bin/echo" hello from busybox) || fail "busybox echo"
[ "$got" = "hello from busybox" ] || fail "busybox echo printed '$got'"
got=$(docker run --rm "$img" "${out[busybox]}/bin/sh" -c 'echo $((6 * 7))') || fail "busybox sh"
[ "$got" = 42 ] || fail "busybox sh printed '$got'"
ok "busybox echo and sh work"

retry() {  # retry WHAT CMD...: run CMD until it succeeds (30 s), else fail with its output
  local what=$1 o=""; shift
  for _ in $(seq 60); do
    if o=$("$@" 2>&1); then printf '%s\n' "$o"; return; fi
    sleep 0.5
  done
  docker logs "$c" >&2 || true
  fail "$what: $o"
}
withtz() {  # withtz: tzdata at /usr/share/zoneinfo in $r (Debian's postgres and php look there)
  mkdir -p "$r/usr/share"
  ln -s "${out[tzdata]}/share/zoneinfo" "$r/usr/share/zoneinfo"
}
BB=${out[busybox]}

echo "== postgresql in a scratch image (+ busybox as /bin/sh for initdb, tzdata)"
P=${out[postgresql]}
mkroot postgresql "$P" "$BB" "${out[tzdata]}"; withtz
lddsweep "$r" "$P"
mkdir -p "$r/bin" "$r/var/lib/postgresql" "$r/run/postgresql"
ln -s "$BB/bin/sh" "$r/bin/sh"          # initdb runs postgres through popen(): /bin/sh
echo 'postgres:x:70:70:postgres:/var/lib/postgresql:/sbin/nologin' >> "$r/etc/passwd"
echo 'postgres:x:70:' >> "$r/etc/group"
chown 70:70 "$r/var/lib/postgresql" "$r/run/postgresql"
mkimage postgresql "$r"
start postgresql "$img" - "$BB/bin/sleep" 3600
docker exec -u postgres -e TZ=UTC "$c" "$P/bin/initdb" -D /var/lib/postgresql/data \
  --no-locale -E UTF8 -U postgres --auth=trust > "$work/initdb.log" 2>&1 \
  || { cat "$work/initdb.log" >&2; fail "initdb"; }
ok "initdb (--no-locale -E UTF8, TZ=UTC)"
docker exec -d -u postgres "$c" "$P/bin/postgres" -D /var/lib/postgresql/data \
  -c listen_addresses=127.0.0.1 -c unix_socket_directories=/run/postgresql
retry "pg_isready" docker exec -u postgres "$c" "$P/bin/pg_isready" -h /run/postgresql -q >/dev/null
psql() { docker exec -u postgres "$c" "$P/bin/psql" -h /run/postgresql -U postgres -v ON_ERROR_STOP=1 -Atc "$@"; }
got=$(psql "SELECT 6*7") || fail "psql SELECT"
[ "$got" = 42 ] || fail "psql printed '$got'"
got=$(psql "CREATE EXTENSION pgcrypto; CREATE EXTENSION hstore; SELECT encode(digest('x','sha1'),'hex') || ' ' || ('a=>1'::hstore -> 'a') || ' ' || to_tsvector('english','running dogs')::text") \
  || fail "psql extensions"
grep -q "^CREATE EXTENSION$" <<< "$got" && grep -q "11f6ad8ec52a2984abaafd7c3b516503785c2072 1 'dog':2 'run':1" <<< "$got" \
  || fail "extensions (pgcrypto, hstore, snowball) printed '$got'"
got=$(psql "SET TimeZone='Europe/Berlin'; SELECT to_char(timestamptz '2024-07-01 12:00 UTC', 'HH24 TZ')") || fail "psql time zone"
grep -qx '14 CEST' <<< "$got" || fail "time zone Europe/Berlin printed '$got'"
ok "postgres serves psql: SELECT 6*7 = 42, pgcrypto/hstore/snowball load from lib/, Europe/Berlin from tzdata"
got=$(docker exec -u postgres "$c" "$P/bin/psql" -h 127.0.0.1 -U postgres -Atc "SELECT current_setting('data_directory')") || fail "psql over TCP"
[ "$got" = /var/lib/postgresql/data ] || fail "psql over TCP printed '$got'"
ok "psql over TCP 127.0.0.1 as well"

echo "== mariadb in a scratch image (its closure holds busybox for mariadb-install-db)"
M=${out[mariadb]}
mkroot mariadb "$M"; lddsweep "$r" "$M"
grep -qxF "$BB" <<< "${closure[mariadb]}" || fail "mariadb's closure lacks busybox"
mkdir -p "$r/var/lib/mysql" "$r/run/mysqld"
echo 'mysql:x:71:71:mysql:/var/lib/mysql:/sbin/nologin' >> "$r/etc/passwd"
echo 'mysql:x:71:' >> "$r/etc/group"
chown 71:71 "$r/run/mysqld"
mkimage mariadb "$r"
port=$(freeport)
start mariadb "$img" "$port" "$BB/bin/sleep" 3600
docker exec "$c" "$M/bin/mariadb-install-db" --no-defaults --user=mysql --basedir="$M" \
  --datadir=/var/lib/mysql/data --auth-root-authentication-method=normal --skip-test-db \
  > "$work/install-db.log" 2>&1 || { cat "$work/install-db.log" >&2; fail "mariadb-install-db"; }
ok "mariadb-install-db (as root, --user=mysql)"
docker exec -d -u mysql "$c" "$M/bin/mariadbd" --no-defaults --basedir="$M" --datadir=/var/lib/mysql/data \
  --socket=/run/mysqld/mysqld.sock --pid-file=/run/mysqld/mysqld.pid --bind-address=127.0.0.1 --port="$port"
retry "mariadb-admin ping" docker exec "$c" "$M/bin/mariadb-admin" --no-defaults -uroot --socket=/run/mysqld/mysqld.sock ping >/dev/null
got=$(docker exec "$c" "$M/bin/mariadb" --no-defaults -uroot --socket=/run/mysqld/mysqld.sock -N -e 'SELECT 6*7') || fail "mariadb SELECT"
[ "$got" = 42 ] || fail "mariadb printed '$got'"
got=$(docker exec "$c" "$M/bin/mariadb" --no-defaults -uroot -h127.0.0.1 -P"$port" --protocol=tcp -N -e \
  'INSTALL SONAME "ha_archive"; CREATE DATABASE t; CREATE TABLE t.a (x int) ENGINE=ARCHIVE;
   SELECT engine, user() FROM information_schema.tables WHERE table_schema="t"') || fail "mariadb over TCP"
grep -q '^ARCHIVE' <<< "$got" || fail "mariadb plugin/TCP printed '$got'"
got=$(docker exec "$c" "$BB/bin/ps" -o user,comm) || fail "ps"
grep -qE '^mysql +mariadbd' <<< "$got" || fail "mariadbd does not run as mysql: $got"
ok "mariadbd (user mysql) answers the client: SELECT 6*7 = 42 on the socket, a plugin from lib/mysql/plugin over TCP"

echo "== php-fpm behind nginx in a scratch image (+ tzdata)"
PHP=${out[php]} N=${out[nginx]}
mkroot php "$PHP" "$N" "${out[tzdata]}"; withtz
lddsweep "$r" "$PHP"
printf '<?php echo 6*7, "\\n"; ?>\n' > "$r/srv/www/index.php"
printf '<?php echo implode(",", get_loaded_extensions()), " ", date("e Y", 0), "\\n"; ?>\n' > "$r/srv/www/info.php"
cat > "$r/etc/php-fpm.conf" <<EOF
[global]
error_log = /proc/self/fd/2
daemonize = no
[www]
listen = 127.0.0.1:9000
user = nobody
group = nogroup
pm = static
pm.max_children = 2
catch_workers_output = yes
decorate_workers_output = no
EOF
cat > "$r/etc/php.ini" <<EOF
date.timezone = UTC
EOF
port=$(freeport)
cat > "$r/etc/nginx.conf" <<EOF
user nobody nogroup;
daemon off;
pid /tmp/nginx.pid;
error_log stderr;
events { }
http {
  include $N/conf/mime.types;
  access_log off;                 # the compiled-in default is /var/log/nginx/access.log
  client_body_temp_path /tmp/nginx-client-body;
  proxy_temp_path /tmp/nginx-proxy;
  fastcgi_temp_path /tmp/nginx-fastcgi;
  uwsgi_temp_path /tmp/nginx-uwsgi;
  scgi_temp_path /tmp/nginx-scgi;
  server {
    listen $port;
    root /srv/www;
    index index.php;
    location ~ \.php\$ {
      include $N/conf/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_pass 127.0.0.1:9000;
    }
  }
}
EOF
chmod 644 "$r/etc/"* "$r/srv/www/"*
mkimage php "$r"
got=$(docker run --rm "$img" "$PHP/bin/php" -n -r 'echo PHP_VERSION;') || fail "php -r"
[ "$got" = 8.2.36 ] || fail "php -r printed '$got'"
phpv=$got
got=$(docker run --rm "$img" "$PHP/bin/php" -c /etc/php.ini \
  -r 'echo function_exists("pg_connect") ? "pgsql" : "none", " ", date_default_timezone_get();') || fail "php -c"
[ "$got" = "pgsql UTC" ] || fail "php (the wrapper, its lib/php.ini) printed '$got'"
ok "php -r (PHP_VERSION $phpv); the wrapper loads the extensions its lib/php.ini lists"
start php "$img" "$port" "$PHP/bin/php-fpm" -F -y /etc/php-fpm.conf -c /etc/php.ini
docker exec -d "$c" "$N/bin/nginx" -e stderr -c /etc/nginx.conf
expect_http "$c" "$port" '^42'
resp=$( (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET /info.php HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 && timeout 5 cat <&3) || true)
for e in mysqli pdo_mysql pgsql pdo_pgsql mbstring intl 'Zend OPcache' 'UTC 1970'; do
  grep -q "$e" <<< "$resp" || fail "info.php lacks $e: $resp"
done
ok "php-fpm loads the default extensions (mysqli, pgsql, mbstring, intl, opcache, ...) through its wrapper; date() works"
grep -q 'NOTICE: ready to handle connections' <<< "$(docker logs "$c" 2>&1)" || { docker logs "$c" >&2; fail "php-fpm: no log on stderr"; }
ok "php-fpm (pool user nobody) answered nginx's fastcgi_pass; its log goes to the container's stderr"
