#!/usr/bin/env bash
# Cost model benchmark (docs/images.md, "Cost model"): what the Docker
# engine and a registry pay per layer and per MiB, measured on the webapp
# example's closure split into 1 to 41 layers. Runs bench/costmodel (see
# its doc comment) against this machine's engine and a docker-registry
# (Debian's distribution) it starts on 127.0.0.1 for each trial.
#
# usage: bench/costmodel.sh [RUNS]   (default 3; needs scripts/setup)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
export NIX_CONFIG="substituters =${NIX_CONFIG:+
$NIX_CONFIG}"
nixpkgs=${NIXPKGS:-$PWD/testdata/nixpkgs}

tmp=$(mktemp -d)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

go build -o bin/nix-docker ./cmd/nix-docker
go build -o "$tmp/costmodel" ./bench/costmodel
bin/nix-docker nix examples/webapp/app.hcl >"$tmp/default.nix"
system=$(nix-build --no-out-link -I "nixpkgs=$nixpkgs" "$tmp/default.nix" 2>/dev/null)

echo "$(date -u +%Y-%m-%d), $(docker version --format 'Docker {{.Server.Version}}') ($(docker info --format '{{.Driver}}')), $(nproc) cores, docker-registry $(docker-registry --version 2>/dev/null | awk '{print $3}')" >&2
"$tmp/costmodel" -system "$system" -registry -runs "$runs"
