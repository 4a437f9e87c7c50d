#!/usr/bin/env bash
# TestFreshSetup's script. Run as root in a private mount namespace (the Go
# test does: unshare --mount --propagation private bash fresh.sh).
#
# Makes, in a private copy of /etc, the Nix state a fresh Debian machine has
# after `apt-get install nix-bin`: no /etc/nix/nix.conf, no nixbld group or
# users, no nix-users group. Then runs scripts/setup (or the setup script
# given as $1, e.g. an old one, to show this test catches it) from a fresh
# copy of the repository, checks what it set up, builds a derivation that
# exists nowhere yet and a changed webapp with the sandbox as Nix sets it,
# and runs setup again, which must change nothing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
setup=${1:-$repo/scripts/setup}

host_ready "$repo"
private_etc
rm -f /etc/nix/nix.conf
for u in $(getent group nixbld | cut -d: -f4 | tr , ' '); do userdel "$u" || die "userdel $u"; done
for g in nixbld nix-users; do
  if getent group "$g" >/dev/null; then groupdel "$g" || die "groupdel $g"; fi
done
ok "fresh Nix state in a private /etc: no nix.conf, no nixbld group or users, no nix-users group"

# A fresh clone: the repository's files without bin/ and .git.
work=$(mktemp -d /tmp/nix-docker-fresh.XXXXXX)
at_exit "rm -rf '$work'"
mkdir "$work/repo"
tar -C "$repo" --exclude=./bin --exclude=./.git -cf - . | tar -C "$work/repo" -xf -
cp "$setup" "$work/repo/scripts/setup"
# Only what setup writes and Nix's own defaults count.
unset NIX_CONFIG NIX_REMOTE

start=$SECONDS
(cd "$work/repo" && scripts/setup) >"$work/setup1.log" 2>&1
rc=$?
sed 's/^/  setup| /' "$work/setup1.log"
[ $rc = 0 ] || fail "scripts/setup exit $rc"
echo "  first setup run: $((SECONDS - start)) s"

# What a real install has: the build users group, its users, nix-users.
members=$(getent group nixbld | cut -d: -f4)
if [ "$members" = "$(seq -s, -f 'nixbld%g' 1 10)" ]; then
  ok "group nixbld with nixbld1..nixbld10"
else
  fail "group nixbld members: '$members', want nixbld1..nixbld10"
fi
getent group nix-users >/dev/null && ok "group nix-users" || fail "no group nix-users"
if grep -qs '^ *sandbox *= *false' /etc/nix/nix.conf; then
  fail "setup wrote sandbox = false into /etc/nix/nix.conf"
fi
conf=$(nix --extra-experimental-features nix-command show-config 2>&1)
for want in "sandbox = true" "build-users-group = nixbld"; do
  grep -qx "$want" <<<"$conf" && ok "nix show-config: $want" || fail "nix show-config lacks '$want'"
done

export NIX_CONFIG="substituters ="   # offline: no binary cache to wait for
nixpkgs=$work/repo/testdata/nixpkgs
if out=$(nix-build --no-out-link -I "nixpkgs=$nixpkgs" -E "$(probe_expr)" 2>"$work/probe.log"); then
  check_probe "$out" "root"
else
  fail "a fresh derivation does not build: $(tail -3 "$work/probe.log")"
fi

# The webapp, changed so that its files and the system path are new.
cp -r "$repo/examples/webapp" "$work/webapp"
echo "<!-- $RANDOM$RANDOM -->" >>"$work/webapp/www/index.html"
tag=nix-docker-fresh/webapp-$RANDOM$RANDOM:test
if [ -x "$work/repo/bin/nix-docker" ] &&
  "$work/repo/bin/nix-docker" -b -t "$tag" -I "nixpkgs=$nixpkgs" "$work/webapp/app.hcl" >"$work/webapp.log" 2>&1; then
  at_exit "docker rmi -f '$tag' >/dev/null"
  ok "the webapp built and loaded as $tag: $(grep -o 'loaded .*' "$work/webapp.log" | head -1)"
else
  fail "the webapp does not build: $(tail -5 "$work/webapp.log" 2>/dev/null)"
fi

# Run again: nothing changes.
snapshot() { cat /etc/passwd /etc/group /etc/shadow /etc/gshadow; ls -la /etc/nix 2>/dev/null; cat /etc/nix/* 2>/dev/null; }
before=$(snapshot)
(cd "$work/repo" && env -u NIX_CONFIG scripts/setup) >"$work/setup2.log" 2>&1 || fail "second scripts/setup run failed: $(tail -3 "$work/setup2.log")"
sed 's/^/  setup (again)| /' "$work/setup2.log"
[ "$(snapshot)" = "$before" ] && ok "a second setup run left users, groups and /etc/nix as they were" \
  || fail "a second setup run changed users, groups or /etc/nix"
if grep -Eq 'created|installed|built the offline' "$work/setup2.log"; then
  fail "a second setup run says it changed something"
fi
finish
