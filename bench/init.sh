#!/usr/bin/env bash
# Measures the init's budgets (issue 5 item 7, docs/init.md):
#   - the size of the static binary (budget: 4 MB),
#   - the init's resident memory (VmRSS of PID 1, read from the host's
#     /proc) while it supervises three services (budget: 8 MB),
#   - the wall time of `docker stop` (budget: under 1 s).
#
# usage: bench/init.sh [--build-webapp] [--busybox] [RUNS]
#
# By default it measures the demo/webapp image when the engine has it (the
# Node.js app, Redis and Apache httpd of examples/webapp), else a
# FROM-scratch image holding this init, a static busybox and three chained
# busybox services. --build-webapp first builds examples/webapp with the
# init built here, as nix-docker-init-bench/webapp (needs Nix, scripts/setup
# and the offline nixpkgs), and measures that, so that the figures are this
# init's; --busybox measures the busybox image even when demo/webapp exists. RUNS (default 5) containers are started and stopped.
set -euo pipefail

cd "$(dirname "$0")/.."
runs=5 build_webapp=0 force_busybox=0
for a in "$@"; do
	case $a in
	--build-webapp) build_webapp=1 ;;
	--busybox) force_busybox=1 ;;
	[0-9]*) runs=$a ;;
	*) echo "usage: bench/init.sh [--build-webapp] [--busybox] [RUNS]" >&2; exit 2 ;;
	esac
done

tmp=$(mktemp -d)
image="" containers=()
cleanup() {
	for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
	if [[ $image == nix-docker-init-bench:* ]]; then docker rmi -f "$image" >/dev/null 2>&1 || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# 1. The binary, built with the flags of its Nix derivation (internal/nixexpr).
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w -buildid=' -o "$tmp/nix-docker-init" ./init
size=$(stat -c %s "$tmp/nix-docker-init")
linkage=$(file -b "$tmp/nix-docker-init" 2>/dev/null | grep -o 'statically linked' || echo "linkage unknown (no file(1))")
printf 'go:            %s\n' "$(go version | cut -d' ' -f3-)"
printf 'binary:        %d bytes (%s MiB), %s\n' "$size" "$(awk -v n="$size" 'BEGIN {printf "%.2f", n / 1048576}')" "$linkage"

# 2. The image.
if ((build_webapp)); then
	export NIX_CONFIG='substituters ='
	bin/nix-docker -b -q -t nix-docker-init-bench/webapp --init "$tmp/nix-docker-init" -I nixpkgs=testdata/nixpkgs examples/webapp/app.hcl >/dev/null
	image=nix-docker-init-bench/webapp
	what="examples/webapp built with this init (app: node, redis, web: httpd)"
elif ((!force_busybox)) && docker image inspect demo/webapp >/dev/null 2>&1; then
	image=demo/webapp
	what="demo/webapp (app: node, redis, web: httpd)"
else
	busybox=$(command -v busybox) || { echo "bench/init.sh: a static busybox is needed (apt-get install busybox-static)" >&2; exit 1; }
	root=$tmp/root
	mkdir -p "$root/bin"
	cp "$tmp/nix-docker-init" "$root/init"
	cp "$busybox" "$root/bin/busybox"
	for a in $("$busybox" --list); do
		[[ $a == busybox ]] || ln -s busybox "$root/bin/$a"
	done
	# Three services in a chain, each ready on a TCP port, as in the webapp.
	cat >"$root/spec.json" <<-'EOF'
	{"version": 1, "services": [
	  {"name": "db",    "command": "nc -ll -p 7001 -e true", "ready": {"tcp": 7001}},
	  {"name": "cache", "command": "nc -ll -p 7002 -e true", "ready": {"tcp": 7002}, "after": ["db"]},
	  {"name": "web",   "command": "httpd -f -p 7003 -h /",  "ready": {"tcp": 7003}, "after": ["cache"]}
	]}
	EOF
	image=nix-docker-init-bench:$$
	tar -C "$root" -c . | docker import --change 'ENTRYPOINT ["/init", "/spec.json"]' --change 'ENV PATH=/bin' - "$image" >/dev/null
	what="FROM-scratch busybox image (db, cache, web: busybox nc and httpd)"
fi
entry=$(docker image inspect -f '{{index .Config.Entrypoint 0}}' "$image")
printf 'image:         %s\n' "$what"
docker create --name "nix-docker-init-bench-$$-0" "$image" >/dev/null
containers+=("nix-docker-init-bench-$$-0")
printf 'init in image: %s (%d bytes)\n' "$entry" "$(docker cp -L "nix-docker-init-bench-$$-0:$entry" - | tar -xO | wc -c)"

# 3. Each run: start, wait until `ctl health` says every service is ready,
# let it settle, read PID 1's VmRSS from the host, time `docker stop`.
# init_stop_s is the init's own part of the stop, from its log lines
# "received TERM" to "all services stopped"; the rest is the engine's.
printf '%-4s %10s %10s %10s %12s %6s\n' run ready_s rss_kB stop_s init_stop_s exit
rss_all=() stop_all=() own_all=()
for i in $(seq 1 "$runs"); do
	c=nix-docker-init-bench-$$-$i
	containers+=("$c")
	t0=$(date +%s%N)
	docker run -d --name "$c" "$image" >/dev/null
	until docker exec "$c" "$entry" ctl health >/dev/null 2>&1; do
		if (($(date +%s%N) - t0 > 60000000000)); then
			echo "bench/init.sh: $c not ready after 60 s" >&2
			docker logs "$c" >&2
			exit 1
		fi
		sleep 0.1
	done
	t1=$(date +%s%N)
	sleep 2
	pid=$(docker inspect -f '{{.State.Pid}}' "$c")
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
	t2=$(date +%s%N)
	docker stop "$c" >/dev/null
	t3=$(date +%s%N)
	code=$(docker inspect -f '{{.State.ExitCode}}' "$c")
	ready=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print (b - a) / 1e9}')
	stop=$(awk -v a="$t2" -v b="$t3" 'BEGIN {print (b - a) / 1e9}')
	stamp() { date -d "$(docker logs -t "$c" 2>&1 | grep -m1 "init | $1" | cut -d' ' -f1)" +%s%N; }
	own=$(awk -v a="$(stamp 'received TERM')" -v b="$(stamp 'all services stopped')" 'BEGIN {print (b - a) / 1e9}')
	printf '%-4d %10.2f %10d %10.3f %12.3f %6d\n' "$i" "$ready" "$rss" "$stop" "$own" "$code"
	rss_all+=("$rss") stop_all+=("$stop") own_all+=("$own")
	docker rm "$c" >/dev/null
done
max() { printf '%s\n' "$@" | sort -g | tail -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf 'VmRSS of the init: median %s kB, max %s kB (budget 8192 kB)\n' "$(median "${rss_all[@]}")" "$(max "${rss_all[@]}")"
printf 'docker stop:       median %.3f s, max %.3f s (budget 1 s)\n' "$(median "${stop_all[@]}")" "$(max "${stop_all[@]}")"
printf 'init stop (log):   median %.3f s, max %.3f s\n' "$(median "${own_all[@]}")" "$(max "${own_all[@]}")"
