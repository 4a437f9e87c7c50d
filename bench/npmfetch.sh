#!/usr/bin/env bash
# Cold dependency fetch (docs/node.md): the webapp example's node_modules
# built in a store that holds everything but its dependencies' tarballs, as
# on a machine that never built this app. Each package of package-lock.json
# is one fixed-output path, fetched by Nix's builtin fetcher from the npm
# registry and checked against the lockfile's integrity hash; then npm
# installs node_modules from them, offline, in the build sandbox.
#
# The store is a throwaway chroot store (--store ROOT): the host's store and
# its tarballs are left alone. The packages the build needs (Node.js,
# busybox, importNpmLock's sources) are copied in first, outside the timing.
# Prints the time of the fetch alone (the tarballs) and of the whole
# node_modules build, with Nix's default max-jobs (1: one fetch at a time)
# and with max-jobs 8.
#
# The numbers quoted in docs/node.md ("Cold fetch") come from this script.
#
# usage: bench/npmfetch.sh   (needs scripts/setup, root, and the npm registry)
set -euo pipefail
cd "$(dirname "$0")/.."
export NIX_CONFIG="substituters =${NIX_CONFIG:+
$NIX_CONFIG}
sandbox = true"
nixpkgs=${NIXPKGS:-$PWD/testdata/nixpkgs}
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

go build -o bin/nix-docker ./cmd/nix-docker
bin/nix-docker nix examples/webapp/app.hcl >"$tmp/webapp.nix"
system=$(nix-instantiate -I "nixpkgs=$nixpkgs" "$tmp/webapp.nix" 2>/dev/null)
drvs=$(nix --extra-experimental-features nix-command show-derivation -r "$system")
nm=$(jq -r 'keys[] | select(endswith("-node-modules-1.0.0.drv"))' <<<"$drvs")
tarballs=$(jq -r 'to_entries[] | select(.value.env.url // "" | endswith(".tgz")) | .key' <<<"$drvs")
fetched=$(jq -r 'to_entries[] | select(.value.env.url // "" | endswith(".tgz")) | .value.outputs.out.path' <<<"$drvs")
echo "$(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(nix-build --version); $(wc -l <<<"$tarballs") tarballs in examples/webapp/app/package-lock.json"

now() { date +%s.%N; }
for jobs in 1 8; do
  store=$tmp/store-$jobs
  # Everything the build needs but the tarballs, importNpmLock's sources (which
  # name them) and node_modules itself.
  need=$(nix-store -qR --include-outputs "$nm" | grep -v -e '\.drv$' -e '\.tgz$' -e '-sources$' -e '-node-modules-1.0.0$')
  # shellcheck disable=SC2086
  nix --extra-experimental-features nix-command copy --no-check-sigs --to "$store" $need >/dev/null 2>&1
  # shellcheck disable=SC2046
  nix --extra-experimental-features nix-command copy --no-check-sigs --derivation --to "$store" $(nix-store -qR "$nm" | grep '\.drv$') >/dev/null 2>&1
  # The throwaway store holds none of the tarballs: each is fetched below.
  # shellcheck disable=SC2086
  missing=$(nix-store --store "$store" --check-validity --print-invalid $fetched | wc -l)
  if [ "$missing" -ne "$(wc -l <<<"$tarballs")" ]; then
    echo "npmfetch: the store $store already holds some tarballs" >&2
    exit 1
  fi
  t0=$(now)
  # shellcheck disable=SC2086
  nix-store --store "$store" --max-jobs "$jobs" --realise $tarballs >/dev/null 2>"$tmp/fetch.log"
  t1=$(now)
  nix-store --store "$store" --max-jobs "$jobs" --realise "$nm" >/dev/null 2>"$tmp/build.log"
  t2=$(now)
  # shellcheck disable=SC2086
  nix-store --store "$store" --check-validity $fetched "$(nix-store -q --outputs "$nm")"
  awk -v j="$jobs" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "max-jobs %s: tarballs fetched in %.1f s; node_modules built from them in %.1f s more (%.1f s in all)\n", j, b - a, c - b, c - a }'
done
