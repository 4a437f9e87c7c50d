#!/usr/bin/env bash
# Rebuild benchmark (issue 4, docs/images.md): the webapp example after a
# one-file change to its Node app, built and loaded two ways:
#
#   nix-docker   nix-docker -b: one layer per store path, only the layers
#                the engine lacks are sent (partial docker-archive).
#   Dockerfile   the Dockerfile+Nix approach: nix-build the same system
#                path, copy its closure into a build context and
#                `docker build` a Dockerfile that COPYs it FROM scratch
#                (legacy builder, DOCKER_BUILDKIT=0).
#
# Each way builds once from a fresh tag (cold), then edits server.js and
# rebuilds (warm). It prints wall time and the bytes sent to the engine
# (nix-docker's report; the build context size the legacy builder sends).
#
# usage: bench/rebuild.sh [RUNS]   (RUNS rebuilds each, default 3; needs
#        scripts/setup, Nix and a Docker engine; uses the offline nixpkgs)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
export NIX_CONFIG="substituters =${NIX_CONFIG:+
$NIX_CONFIG}"
nixpkgs=${NIXPKGS:-$PWD/testdata/nixpkgs}

tmp=$(mktemp -d)
id=$$
nd_tag=nix-docker-bench/rebuild-$id:nd
df_tag=nix-docker-bench/rebuild-$id:df
cleanup() {
	docker rmi -f "$nd_tag" "$df_tag" >/dev/null 2>&1 || true
	bin/nix-docker prune nix-docker-bench/rebuild-$id >/dev/null 2>&1 || true
	docker image prune -f --filter "label=nix-docker-bench=$id" >/dev/null 2>&1 || true
	chmod -R u+w "$tmp" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o bin/nix-docker ./cmd/nix-docker
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o bin/nix-docker-init ./init
cp -r examples/webapp "$tmp/webapp"
app=$tmp/webapp/app.hcl
server=$tmp/webapp/app/server.js

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mib() { awk -v n="$1" 'BEGIN { printf "%.2f MiB", n / 1048576 }'; }
# to_bytes "117.3 MiB" -> bytes
to_bytes() { awk -v v="$1" -v u="$2" 'BEGIN { m = 1; if (u == "KiB") m = 1024; if (u == "MiB") m = 1048576; if (u == "GiB") m = 1073741824; if (u == "kB") m = 1000; if (u == "MB") m = 1000000; if (u == "GB") m = 1000000000; printf "%d", v * m }'; }

edit() { # a one-line change to the Node app
	chmod u+w "$server"
	echo "// rebuild $1 $(date +%s%N)" >>"$server"
}

nix_docker() { # prints: seconds bytes
	local t0 t1 out
	t0=$(now)
	out=$(bin/nix-docker -b -t "$nd_tag" -I "nixpkgs=$nixpkgs" "$app" 2>&1 >/dev/null)
	t1=$(now)
	local line
	line=$(grep -o 'layers sent ([0-9.]* [KMG]*i*B)' <<<"$out" | tail -1)
	local v u
	read -r v u <<<"$(sed -E 's/layers sent \(([0-9.]+) ([A-Za-z]+)\)/\1 \2/' <<<"$line")"
	echo "$(secs "$t0" "$t1") $(to_bytes "$v" "$u")"
}

dockerfile() { # prints: seconds bytes
	local t0 t1 ctx sys init out
	t0=$(now)
	ctx=$tmp/ctx
	chmod -R u+w "$ctx" 2>/dev/null || true
	rm -rf "$ctx"
	mkdir -p "$ctx/nix/store" "$ctx/root/etc" "$ctx/root/tmp" "$ctx/root/run"
	bin/nix-docker nix "$app" >"$tmp/default.nix"
	sys=$(nix-build --no-out-link -I "nixpkgs=$nixpkgs" "$tmp/default.nix" 2>/dev/null)
	init=$(readlink "$sys/init")
	# shellcheck disable=SC2046
	cp -a $(nix-store -qR "$sys") "$ctx/nix/store/"
	for f in group nsswitch.conf passwd; do ln -s "$sys/etc/$f" "$ctx/root/etc/$f"; done
	chmod 1777 "$ctx/root/tmp"
	cat >"$ctx/Dockerfile" <<-EOF
		FROM scratch
		COPY nix /nix
		COPY root /
		LABEL nix-docker-bench=$id
		ENTRYPOINT ["$init", "$sys/runspec.json"]
	EOF
	out=$(DOCKER_BUILDKIT=0 docker build -t "$df_tag" "$ctx" 2>&1)
	t1=$(now)
	local v u
	read -r v u <<<"$(tr '\r' '\n' <<<"$out" | sed -nE 's/^Sending build context to Docker daemon +([0-9.]+) *([kMG]?B) *$/\1 \2/p' | tail -1)"
	echo "$(secs "$t0" "$t1") $(to_bytes "$v" "$u")"
}

report() { # name cold-result warm-results...
	local name=$1 cold=$2
	shift 2
	read -r cs cb <<<"$cold"
	printf '%-11s cold: %6ss %12s' "$name" "$cs" "$(mib "$cb")"
	local ts="" tb=0 n=0
	for r in "$@"; do
		read -r s b <<<"$r"
		ts="$ts ${s}s"
		tb=$((tb + b))
		n=$((n + 1))
	done
	printf '   after a one-file change:%s  (%s sent per rebuild)\n' "$ts" "$(mib $((tb / n)))"
}

echo "webapp example, offline nixpkgs; $(docker version --format 'Docker {{.Server.Version}}'), $(nix-build --version)" >&2
nd_cold=$(nix_docker)
nd_warm=()
for i in $(seq "$runs"); do
	edit "nd$i"
	nd_warm+=("$(nix_docker)")
done
df_cold=$(dockerfile)
df_warm=()
for i in $(seq "$runs"); do
	edit "df$i"
	df_warm+=("$(dockerfile)")
done
report nix-docker "$nd_cold" "${nd_warm[@]}"
report Dockerfile "$df_cold" "${df_warm[@]}"
