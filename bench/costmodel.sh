#!/usr/bin/env bash
# Cost model benchmark (docs/images.md, "Cost model"): what the Docker
# engine and a registry pay per layer and per MiB, measured on the webapp
# example's closure split into 1 to 41 layers. Runs bench/costmodel (see
# its doc comment) against this machine's engine and a docker-registry
# (Debian's distribution) it starts on 127.0.0.1 for the length of the run.
#
# usage: bench/costmodel.sh [RUNS]   (default 3; needs scripts/setup)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
export NIX_CONFIG="substituters =${NIX_CONFIG:+
$NIX_CONFIG}"
nixpkgs=${NIXPKGS:-$PWD/testdata/nixpkgs}

tmp=$(mktemp -d)
reg_pid=""
cleanup() {
	[ -z "$reg_pid" ] || kill "$reg_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o bin/nix-docker ./cmd/nix-docker
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o bin/nix-docker-init ./init
go build -o "$tmp/costmodel" ./bench/costmodel
bin/nix-docker nix examples/webapp/app.hcl >"$tmp/default.nix"
system=$(nix-build --no-out-link -I "nixpkgs=$nixpkgs" "$tmp/default.nix" 2>/dev/null)

# A registry on a free port of 127.0.0.1 (engines talk plain HTTP to
# 127.0.0.0/8 registries).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/registry.yml" <<-YML
	version: 0.1
	log:
	  level: error
	storage:
	  filesystem:
	    rootdirectory: $tmp/registry
	  delete:
	    enabled: true
	http:
	  addr: 127.0.0.1:$port
YML
docker-registry serve "$tmp/registry.yml" >"$tmp/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fs "http://127.0.0.1:$port/v2/" >/dev/null || { cat "$tmp/registry.log" >&2; exit 1; }

echo "$(date -u +%Y-%m-%d), $(docker version --format 'Docker {{.Server.Version}}') ($(docker info --format '{{.Driver}}')), $(nproc) cores, docker-registry $(docker-registry --version 2>/dev/null | awk '{print $3}')" >&2
"$tmp/costmodel" -system "$system" -registry "127.0.0.1:$port" -runs "$runs"
