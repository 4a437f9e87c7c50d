#!/usr/bin/env bash
# What the playground costs, measured on this machine: the Debian packages
# scripts/setup installs (download and installed size, from apt's
# metadata, dependencies included, leaving out the packages every Debian
# system has), Go and the build of nix-docker, the demo's closure in the
# Nix store, and the time scripts/setup and scripts/demo take when
# everything is in place. vagrant/README.md quotes its output.
#
#   vagrant/cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mib() { awk -v b="$1" 'BEGIN { printf "%.0f MiB", b / 1048576 }'; }

# --- Debian packages ------------------------------------------------------
# closure PKG...: the packages PKG need, themselves included, one a line.
closure() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "$@" 2>/dev/null | awk '/^[a-z0-9]/ { print $1 }' | sort -u
}
# sizes: reads package names; prints "count download-bytes installed-bytes",
# leaving out virtual packages and those of Priority required or important,
# which every Debian system (the box too) has.
sizes() {
  xargs apt-cache show --no-all-versions 2>/dev/null | awk '
    /^Package: / { p = 1 }
    /^Priority: (required|important)$/ { p = 0 }
    /^Size: / { size = $2 }
    /^Installed-Size: / { isize = $2 }
    /^$/ { if (p && size) { n++; d += size; i += isize * 1024 } p = 0; size = 0; isize = 0 }
    END { if (p && size) { n++; d += size; i += isize * 1024 } print n, d, i }'
}
{
  echo nix-bin; echo docker.io; echo skopeo; echo umoci; echo vagrant
  grep -v '^#' testdata/nixpkgs/debian-packages.txt | awk 'NF { print $1 }'
} | sort -u >"$tmp/wanted"
# shellcheck disable=SC2046
read -r count download installed < <(closure $(cat "$tmp/wanted") | sizes)
echo "apt: $count packages (setup's list and what they need, less Priority required/important): $(mib "$download") to download, $(mib "$installed") installed"
read -r count download installed < <(closure vagrant | sizes)
echo "apt: of which vagrant and what it needs (for the test of the Vagrantfile) at most: $(mib "$download") to download, $(mib "$installed") installed"

# --- Go and the build -----------------------------------------------------
echo "go: the toolchain, $(go env GOROOT): $(mib "$(du -sb "$(go env GOROOT)" | cut -f1)")"
mods=$(go list -m -f '{{.Dir}}' all 2>/dev/null | grep . | xargs du -sbc 2>/dev/null | tail -1 | cut -f1)
echo "go: the modules of nix-docker's module graph: $(mib "$mods")"
TIMEFORMAT='%R %U %S'
took=$({ time {
  GOCACHE="$tmp/gocache" go build -o "$tmp/nix-docker" ./cmd/nix-docker
  GOCACHE="$tmp/gocache" CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tmp/nix-docker-init" ./init
}; } 2>&1)
read -r wall user sys <<<"$took"
echo "go: building bin/nix-docker and bin/nix-docker-init with an empty build cache: ${wall%.*} s ($(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }') s of CPU), cache $(mib "$(du -sb "$tmp/gocache" | cut -f1)")"

# --- the demo's closure ---------------------------------------------------
NIX_CONFIG="substituters =" "$tmp/nix-docker" -q -o "$tmp/result" -I nixpkgs=testdata/nixpkgs \
  --init "$tmp/nix-docker-init" examples/webapp/app.hcl >/dev/null
closure=$(nix --extra-experimental-features nix-command path-info -S "$(readlink "$tmp/result")" | awk '{ print $2 }')
echo "nix: the demo's closure in /nix/store: $(mib "$closure") (its image holds the same files, about as much in Docker's storage)"

# --- time, with everything in place ----------------------------------------
start=$(date +%s.%N)
scripts/setup 2>/dev/null
echo "time: scripts/setup with everything installed: $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
echo "date: $(date -u +%Y-%m-%d), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
