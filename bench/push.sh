#!/usr/bin/env bash
# Push benchmark (issue 13, docs/registries.md): the webapp example pushed
# to a registry three ways, side by side in one run:
#
#   nix-docker   nix-docker -b --push REF app.hcl: from app.hcl, layers made
#                from /nix/store, gzip digests remembered in the layer
#                cache, only the blobs the registry lacks sent
#   skopeo       skopeo copy docker-daemon:IMAGE docker://REF of the image
#                nix-docker loaded into the engine
#   docker       docker push of the same image, tagged for the registry
#
# Each way pushes to a registry of its own (Debian's docker-registry on
# 127.0.0.1, fresh storage) through a proxy that counts the blobs and
# bytes uploaded (bench/pushproxy). Two situations:
#
#   cold     the registry is empty and nix-docker's layer cache is empty
#            (it hashes and compresses every layer); skopeo and docker
#            start from the image in the engine
#   change   one line appended to the Node app's server.js, the image
#            rebuilt (and, for skopeo and docker, loaded), pushed again
#
# nix-docker's time includes its whole run (Nix evaluation, a no-op
# nix-build, the layers' hashes); the others' only the push.
#
# usage: bench/push.sh   (needs scripts/setup: Nix, Docker, docker-registry, skopeo)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
export NIX_CONFIG="substituters =${NIX_CONFIG:+
$NIX_CONFIG}"
nixpkgs=${NIXPKGS:-$PWD/testdata/nixpkgs}

tmp=$(mktemp -d)
id=$$
local_name=nix-docker-bench/push-$id
pids=()
tags=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for t in "${tags[@]}"; do docker rmi -f "$t" >/dev/null 2>&1 || true; done
	XDG_CACHE_HOME=$tmp/prune bin/nix-docker prune "$local_name" >/dev/null 2>&1 || true
	chmod -R u+w "$tmp" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o bin/nix-docker ./cmd/nix-docker
go build -o "$tmp/pushproxy" ./bench/pushproxy
cp -r examples/webapp "$tmp/webapp"
app=$tmp/webapp/app.hcl

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
mib() { awk -v n="$1" 'BEGIN { printf "%.2f", n / 1048576 }'; }

# registry NAME: starts a registry and its counting proxy; sets REG_NAME.
registry() {
	mkdir -p "$tmp/reg-$1"
	"$tmp/pushproxy" "$tmp/reg-$1" >"$tmp/reg-$1/addr" 2>"$tmp/reg-$1/err" </dev/null &
	pids+=($!)
	for _ in $(seq 1 300); do
		[ -s "$tmp/reg-$1/addr" ] && break
		sleep 0.1
	done
	[ -s "$tmp/reg-$1/addr" ] || { cat "$tmp/reg-$1/err" >&2; exit 1; }
	printf -v "REG_$1" '%s' "$(head -1 "$tmp/reg-$1/addr")"
}
counts() { curl -fsS "http://$1/_counts"; }

# load VERSION: builds the app and loads it into the engine as
# local:VERSION (what skopeo and docker push from); prints the time taken.
load() {
	local t0 t1
	t0=$(now)
	XDG_CACHE_HOME=$tmp/load-cache bin/nix-docker -q -b -t "$local_name:$1" -I "nixpkgs=$nixpkgs" "$app" >/dev/null
	t1=$(now)
	tags+=("$local_name:$1")
	echo "(skopeo and docker push from the engine: nix-docker -b -t loaded $1 in $(secs "$t0" "$t1") s)"
}

# measure WAY SITUATION REGISTRY COMMAND...: runs the push, prints a row.
measure() {
	local way=$1 situation=$2 reg=$3
	shift 3
	local before after t0 t1
	before=$(counts "$reg")
	t0=$(now)
	"$@" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; exit 1; }
	t1=$(now)
	after=$(counts "$reg")
	read -r u0 b0 m0 <<<"$before"
	read -r u1 b1 m1 <<<"$after"
	printf '%-10s %-7s %8s %8s %12s %8s\n' "$way" "$situation" "$(secs "$t0" "$t1")" "$((u1 - u0))" "$(mib $((b1 - b0)))" "$((m1 - m0))"
}

push_nd() { XDG_CACHE_HOME=$tmp/nd-cache bin/nix-docker -b --push "$REG_nd/bench/webapp:$1" -I "nixpkgs=$nixpkgs" "$app"; }
push_skopeo() { skopeo copy --quiet --dest-tls-verify=false "docker-daemon:$local_name:$1" "docker://$REG_skopeo/bench/webapp:$1"; }
push_docker() {
	docker tag "$local_name:$1" "$REG_docker/bench/webapp:$1"
	tags+=("$REG_docker/bench/webapp:$1")
	docker push -q "$REG_docker/bench/webapp:$1"
}

registry nd
registry skopeo
registry docker

echo "bench/push.sh, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "docker $(docker version --format '{{.Server.Version}}'), $(skopeo --version), $(docker-registry --version | awk '{print $NF}')"
load v1
printf '%-10s %-7s %8s %8s %12s %8s\n' way push seconds blobs "MiB sent" mounted
measure nix-docker cold "$REG_nd" push_nd v1
measure skopeo cold "$REG_skopeo" push_skopeo v1
measure docker cold "$REG_docker" push_docker v1

chmod u+w "$tmp/webapp/app/server.js"
echo "// a one-line change $(date +%s%N)" >>"$tmp/webapp/app/server.js"
load v2
measure nix-docker change "$REG_nd" push_nd v2
measure skopeo change "$REG_skopeo" push_skopeo v2
measure docker change "$REG_docker" push_docker v2

