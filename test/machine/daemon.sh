#!/usr/bin/env bash
# TestDaemon's script. Run as root in a private mount namespace (the Go test
# does: unshare --mount --propagation private bash daemon.sh), after
# scripts/setup.
#
# Multi-user Nix as a workstation has it: nix-daemon running as root, building
# as the nixbld users with the sandbox as Nix sets it (on), letting in only
# root and the group nix-users (allowed-users); a user in nix-users and in
# docker, who builds and runs the webapp with NIX_REMOTE=daemon. All of it is
# private to this namespace: /etc is a tmpfs copy (the users and nix.conf made
# here) and the daemon's socket directory a private tmpfs, so the daemon
# started here is the only one the user can reach, and a daemon the machine
# runs is neither used nor disturbed. The daemon is stopped at the end.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

host_ready "$repo"
getent group nixbld >/dev/null || die "no group nixbld: run scripts/setup first"
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin

# What the user needs, world-readable: the binary (it has Nix build the init
# from the source it carries), the stand-in, the app.
work=$(mktemp -d /tmp/nix-docker-daemon.XXXXXX)
at_exit "rm -rf '$work'"
chmod 755 "$work"
(cd "$repo" && go build -o "$work/bin/nix-docker" ./cmd/nix-docker) || die "go build"
cp -r "$repo/testdata/nixpkgs" "$work/nixpkgs"
cp -r "$repo/examples/webapp" "$work/webapp"
marker="daemon-test-$RANDOM$RANDOM"
echo "<!-- $marker -->" >>"$work/webapp/www/index.html"   # new files, a new system path
chmod -R a+rX "$work"

private_etc
cat >/etc/nix/nix.conf <<'CONF'
# Multi-user Nix: only root and the group nix-users may use nix-daemon.
allowed-users = root @nix-users
# Offline: no binary cache to wait for.
substituters =
CONF
getent group nix-users >/dev/null || groupadd --system nix-users
user=nix-docker-ci outsider=nix-docker-outsider
useradd --create-home --home-dir "$work/home" --user-group --groups nix-users,docker --shell /bin/sh "$user" || die "useradd $user"
useradd --no-create-home --home-dir /nonexistent --user-group --shell /bin/sh "$outsider" || die "useradd $outsider"
ok "user $user ($(id "$user")), outsider $outsider ($(id "$outsider"))"

sock=/nix/var/nix/daemon-socket
mkdir -p "$sock"
mount -t tmpfs -o mode=0755 nix-docker-daemon-socket "$sock"
at_exit "umount '$sock'"
env -u NIX_CONFIG -u NIX_REMOTE nix-daemon >"$work/daemon.log" 2>&1 &
daemon=$!
at_exit "kill $daemon; wait $daemon 2>/dev/null"
for _ in $(seq 1 100); do [ -S "$sock/socket" ] && break; sleep 0.1; done
[ -S "$sock/socket" ] || die "nix-daemon did not listen on $sock/socket within 10 s: $(cat "$work/daemon.log")"
ok "nix-daemon (pid $daemon) listens on $sock/socket"

# as USER CMD...: run CMD as USER, with a clean environment pointing Nix at
# the daemon, as a login on a workstation would have it.
as() {
  local u=$1
  shift
  setpriv --reuid="$u" --regid="$u" --init-groups \
    env -i PATH="$PATH" HOME="$(getent passwd "$u" | cut -d: -f6)" USER="$u" \
    NIX_REMOTE=daemon NIX_CONFIG="substituters =" "$@"
}

out=$(as "$outsider" nix --extra-experimental-features nix-command store ping 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q "user '$outsider' is not allowed to connect" "$work/daemon.log"; then
  ok "outside nix-users, $outsider is refused (daemon: $(grep -o "user '$outsider' is not allowed.*" "$work/daemon.log" | head -1))"
else
  fail "$outsider, not in nix-users, was not refused (exit $rc): $out"
fi
as "$user" nix --extra-experimental-features nix-command store ping >/dev/null 2>&1 \
  && ok "$user reaches the daemon" || fail "$user cannot reach the daemon"

if probe=$(as "$user" nix-build --no-out-link -I "nixpkgs=$work/nixpkgs" -E "$(probe_expr)" 2>"$work/probe.log"); then
  check_probe "$probe" "$user through nix-daemon"
else
  fail "$user: a fresh derivation does not build through the daemon: $(tail -3 "$work/probe.log")"
fi

tag=nix-docker-daemon/webapp-$RANDOM$RANDOM:test
ctr=nix-docker-daemon-$RANDOM$RANDOM
at_exit "docker rm -f '$ctr' >/dev/null 2>&1; docker rmi -f '$tag' >/dev/null 2>&1"
start=$SECONDS
if as "$user" "$work/bin/nix-docker" -b -t "$tag" -I "nixpkgs=$work/nixpkgs" "$work/webapp/app.hcl" >"$work/build.log" 2>&1; then
  ok "$user built and loaded the webapp through nix-daemon in $((SECONDS - start)) s: $(grep -o 'loaded .*' "$work/build.log" | head -1)"
else
  fail "$user: nix-docker -b webapp: $(tail -5 "$work/build.log")"
fi
grep -q "building '.*-nix-docker-system.drv'" "$work/build.log" \
  && ok "the webapp's system path was built (by the daemon) during that run" \
  || fail "no build of the system path in nix-docker's output; was it cached?"
if as "$user" docker run -d --name "$ctr" -p 127.0.0.1::8080 -p 127.0.0.1::80 "$tag" >/dev/null 2>"$work/run.log"; then
  app=$(docker port "$ctr" 8080/tcp | sed -n 's/^127\.0\.0\.1://p' | head -1)
  web=$(docker port "$ctr" 80/tcp | sed -n 's/^127\.0\.0\.1://p' | head -1)
  body=
  for _ in $(seq 1 300); do
    body=$(http_get "$app" /)
    grep -q "viewed [0-9]* times" <<<"$body" && break
    sleep 0.2
  done
  grep -q "viewed [0-9]* times" <<<"$body" && ok "$user's container: the app answers ($(grep -o 'viewed [0-9]* times' <<<"$body"))" \
    || fail "the app never answered with a hit count: $body"
  grep -q "$marker" <<<"$(http_get "$web" /)" && ok "httpd serves the changed index.html" \
    || fail "httpd does not serve the changed index.html"
else
  fail "$user: docker run: $(cat "$work/run.log")"
fi
grep -q "user $user" "$work/daemon.log" && ok "the daemon's log shows $user's connections" \
  || fail "the daemon's log has no connection of $user: $(head -5 "$work/daemon.log")"
sed "s/^/  daemon| /" "$work/daemon.log" | head -20
finish
