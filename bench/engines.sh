#!/usr/bin/env bash
# Engines benchmark (issue 14, docs/engines.md): the webapp example loaded
# into every engine this machine runs, every way nix-docker loads:
#
#   Docker 20.10 (classic store)   partial, archive, registry
#   Podman 4.3 (its own storage)   registry, archive, partial
#   Podman in a network namespace  the default way (the loopback registry,
#   of its own, on its socket      which it cannot reach: the full archive)
#
# For each, a fresh copy of the app (with a comment line of its own, so
# that no two ways load the same image) is built and loaded under a new
# tag ("first"), then one line of the Node app changes and it is built and
# loaded again ("change"). It prints what nix-docker reported: layers and
# bytes sent (for the registry, what the engine fetched), layers already
# in the engine, the load's own time and the whole command's.
#
# Each Podman starts with empty storage, so its first load is cold. The
# Docker engine is the machine's, holding other nix-docker images: its
# first load of a new tag sends only what no image there holds (partial),
# or the blobs it never pulled (registry).
#
# usage: bench/engines.sh   (needs scripts/setup; about 10 minutes)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
export NIX_CONFIG="substituters =${NIX_CONFIG:+
$NIX_CONFIG}"
nixpkgs=${NIXPKGS:-$PWD/testdata/nixpkgs}

tmp=$(mktemp -d)
id=$$
name=nix-docker-bench/engines-$id
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.2; done; done
	for d in "$tmp"/podman-*; do
		[ -d "$d" ] && podman --root "$d/root" --runroot "$d/run" rmi --all --force >/dev/null 2>&1 || true
	done
	ids=$(docker images -q --filter "label=org.nix-docker.name=$name")
	# shellcheck disable=SC2086
	[ -z "$ids" ] || docker rmi -f $ids >/dev/null 2>&1 || true
	chmod -R u+w "$tmp" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 130" INT TERM

go build -o bin/nix-docker ./cmd/nix-docker

# podman_start DIR [isolated]: a Podman API service on DIR/podman.sock with
# its own storage and containers.conf; sets host to its DOCKER_HOST.
podman_start() {
	local dir=$1 pre=()
	mkdir -p "$dir"
	[ "${2:-}" = isolated ] && pre=(unshare --net --)
	printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\ntmp_dir = "%s/tmp"\nvolume_path = "%s/volumes"\n[network]\nnetwork_config_dir = "%s/networks"\n' \
		"$dir" "$dir" "$dir" >"$dir/containers.conf"
	CONTAINERS_CONF=$dir/containers.conf setsid "${pre[@]}" podman --root "$dir/root" --runroot "$dir/run" \
		system service --time=0 "unix://$dir/podman.sock" >"$dir/service.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 100); do
		curl -sf --unix-socket "$dir/podman.sock" http://podman/_ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	host=unix://$dir/podman.sock
}

# load ENGINE WAY HOST [--load-via V]: first load and one-line change of a
# fresh copy of the webapp; prints two table rows.
load() {
	local engine=$1 way=$2 host=$3
	shift 3
	local app=$tmp/app-$engine-$way
	app=${app// /-}
	cp -r examples/webapp "$app"
	# A line of its own, so that no two ways load the same image.
	echo "// bench/engines.sh $id $engine $way" >>"$app/app/server.js"
	local tag=$name:${engine// /-}-$way
	tag=${tag,,}
	for step in first change; do
		if [ "$step" = change ]; then
			sed -i 's/Hello from nix-docker!/Hello again from nix-docker!/' "$app/app/server.js"
		fi
		local start end out line
		start=$(date +%s.%N)
		out=$(DOCKER_HOST=$host bin/nix-docker -b -t "$tag" -I "nixpkgs=$nixpkgs" "$@" "$app/app.hcl" 2>&1 >/dev/null)
		end=$(date +%s.%N)
		line=$(grep '^loaded ' <<<"$out")
		# loaded ID as TAG in T: N layers sent (B), M already in the engine; via WAY in Ls[; fallback]
		local sent bytes held via took fb
		sent=$(sed -n 's/.*: \([0-9]*\) layers\{0,1\} sent.*/\1/p' <<<"$line")
		bytes=$(sed -n 's/.* layers\{0,1\} sent (\([^)]*\)).*/\1/p' <<<"$line")
		held=$(sed -n 's/.*, \([0-9]*\) already in the engine.*/\1/p' <<<"$line")
		via=$(sed -n 's/.*; via \(the [a-z -]*\) in \([0-9.]*\)s.*/\1/p' <<<"$line")
		took=$(sed -n 's/.*; via \(the [a-z -]*\) in \([0-9.]*\)s.*/\2/p' <<<"$line")
		fb=$(grep -q 'failed (' <<<"$line" && echo " (after the first way failed)" || true)
		printf '| %s | %s | %s | %s%s | %s | %s | %s | %s s | %.1f s |\n' \
			"$engine" "$way" "$step" "$via" "$fb" "$sent" "$bytes" "$held" "$took" "$(awk "BEGIN {print $end - $start}")"
	done
}

echo "bench/engines.sh, $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Docker $(docker version --format '{{.Server.Version}}') ($(docker info --format '{{.Driver}}')), $(podman --version)"
echo
echo "| engine | asked | load | went via | layers sent | bytes sent | layers held | load time | command time |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
load "Docker" partial "unix:///var/run/docker.sock" --load-via partial
load "Docker" archive "unix:///var/run/docker.sock" --load-via archive
load "Docker" registry "unix:///var/run/docker.sock" --load-via registry
podman_start "$tmp/podman-registry"
load "Podman" registry "$host" --load-via registry
podman_start "$tmp/podman-archive"
load "Podman" archive "$host" --load-via archive
podman_start "$tmp/podman-partial"
load "Podman" partial "$host" --load-via partial
podman_start "$tmp/podman-elsewhere" isolated
load "Podman elsewhere" default "$host"
