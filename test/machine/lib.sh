# Shared by the machine tests' scripts (fresh.sh, daemon.sh). The Go tests run
# them as root under `unshare --mount --propagation private`, so every mount
# made here is private to that namespace and ends with it; nothing here touches
# the machine's own /etc, users, groups or Nix configuration.

fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
die() { echo "FAIL: $*"; exit 1; }
# finish: the script's exit status, from the failures counted so far.
finish() {
  if [ "$fails" -eq 0 ]; then echo "PASS"; else echo "$fails check(s) failed"; exit 1; fi
}

[ "$(id -u)" = 0 ] || die "run as root"
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] \
  || die "not in a private mount namespace: run under unshare --mount --propagation private"

cleanups=()
at_exit() { cleanups=("$1" "${cleanups[@]}"); }
run_cleanups() { for c in "${cleanups[@]}"; do eval "$c" || true; done; }
trap run_cleanups EXIT

# private_etc: a tmpfs copy of /etc bound over /etc, so that groupadd,
# useradd and nix.conf changes stay inside this namespace.
private_etc() {
  local copy
  copy=$(mktemp -d /tmp/nix-docker-etc.XXXXXX)
  at_exit "rmdir '$copy'"
  mount -t tmpfs -o mode=0755 nix-docker-etc "$copy"
  at_exit "umount '$copy'"
  cp -a /etc/. "$copy/"
  mount --bind "$copy" /etc
  at_exit "umount /etc"
}

# host_ready: what scripts/setup would otherwise install or start on the
# machine itself (apt packages, dockerd) must be there already: inside this
# namespace it would write the host's /var/lib/dpkg against a private /etc.
host_ready() {
  local repo=$1 missing=() pkg
  for c in nix-build dockerd skopeo umoci go; do
    command -v "$c" >/dev/null || [ "$c" = go -a -x /usr/local/go/bin/go ] || missing+=("$c")
  done
  while read -r pkg _; do
    case "$pkg" in "" | "#"*) continue ;; esac
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done <"$repo/testdata/nixpkgs/debian-packages.txt"
  [ ${#missing[@]} -eq 0 ] || die "missing on this machine: ${missing[*]}; run scripts/setup first"
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "no Docker engine answers; run scripts/setup first"
}

# nixbld_uid UID: is UID one of the nixbld group's users?
nixbld_uid() {
  local name
  name=$(getent passwd "$1" | cut -d: -f1)
  [ -n "$name" ] && id -nG "$name" | tr ' ' '\n' | grep -qx nixbld
}

# probe_expr: a derivation made fresh by a random string, built with the
# stand-in's runCommand. Its output says what the builder saw: its uid map
# (a sandboxed build runs in a user namespace mapping uid 1000 to a build
# user) and whether the host's /usr/bin and /run were visible.
probe_expr() {
  echo "with import <nixpkgs> { }; runCommand \"machine-probe-$RANDOM$RANDOM$RANDOM\" { } ''
    read inside outside count < /proc/self/uid_map
    echo \"uid \$inside \$outside\" > \$out
    if [ -e /usr/bin ]; then echo usr-bin-visible >> \$out; fi
    if [ -e /run ]; then echo run-visible >> \$out; fi
  ''"
}

# check_probe OUT WHO: the probe ran sandboxed, as a build user.
check_probe() {
  local out=$1 who=$2 inside outside
  read -r _ inside outside <"$out"
  if [ "$inside" = 1000 ] && nixbld_uid "$outside"; then
    ok "$who: the build ran as build user $(getent passwd "$outside" | cut -d: -f1) (uid $outside, 1000 in the sandbox's user namespace)"
  else
    fail "$who: the build's uid map is '$inside -> $outside', want 1000 -> a member of nixbld (a sandboxed build user)"
  fi
  if grep -q visible "$out"; then
    fail "$who: the build saw the host: $(grep visible "$out" | tr '\n' ' ')(sandbox off)"
  else
    ok "$who: the build saw neither /usr/bin nor /run (sandboxed)"
  fi
}

# http_get PORT PATH: the response body from 127.0.0.1:PORT, over bash's
# /dev/tcp (no client program needed); empty when nothing answers.
http_get() {
  local resp
  resp=$(exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$2" >&3 && cat <&3) 2>/dev/null || return 0
  printf '%s' "${resp#*$'\r\n\r\n'}"
}
