#!/usr/bin/env bash
# Measures the init's budgets (issues 5 and 11, docs/init.md) and exits 3
# when one is exceeded (1 when the measurement itself fails):
#   - the size of the static binary (budget: 4 MB),
#   - the init's resident memory (VmRSS of PID 1, read from the host's
#     /proc) while it supervises three services (budget: 8 MB),
#   - the wall time of `docker stop` (budget: under 1 s),
# and, unless --no-soak, the soak figures (issue 11):
#   - 1,000 restarts of a service that leaves a background child: the
#     init's descriptors, VmRSS and CPU before and after, orphans left
#     (budgets: descriptors and RSS within 4 and 3072 kB of the start, no
#     orphan),
#   - a 0-second crash loop with the default restart options: restarts per
#     second, the init's CPU and log lines (budget: at most 10 restarts/s,
#     the documented 1/restartsec, and FATAL),
#   - 100 MB of output from one service while `ctl status` is asked over
#     the control socket from the host by bench/ctlpoll, so that neither
#     `docker exec` nor starting a ctl process is timed (budget: every
#     answer within 50 ms, no line lost).
#
# usage: bench/init.sh [--build-webapp] [--busybox] [--no-soak] [RUNS]
#
# By default the stop runs measure the demo/webapp image when the engine
# has it (the Node.js app, Redis and Apache httpd of examples/webapp), else
# a FROM-scratch image holding this init, a static busybox and three
# chained busybox services. --build-webapp first builds examples/webapp
# with the init built here, as nix-docker-init-bench/webapp (needs Nix,
# scripts/setup and the offline nixpkgs), and measures that, so that the
# figures are this init's; --busybox measures the busybox image even when
# demo/webapp exists. RUNS (default 5) containers are started and stopped.
# The soak runs always use the busybox image and this init.
set -euo pipefail

cd "$(dirname "$0")/.."
runs=5 build_webapp=0 force_busybox=0 soak=1
for a in "$@"; do
	case $a in
	--build-webapp) build_webapp=1 ;;
	--busybox) force_busybox=1 ;;
	--no-soak) soak=0 ;;
	[0-9]*) runs=$a ;;
	*) echo "usage: bench/init.sh [--build-webapp] [--busybox] [--no-soak] [RUNS]" >&2; exit 2 ;;
	esac
done

tmp=$(mktemp -d)
images=() containers=() over=()
cleanup() {
	for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
	for i in "${images[@]}"; do docker rmi -f "$i" >/dev/null 2>&1 || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
budget() { # budget NAME OK: records NAME as over budget unless OK is 1
	if (($2 != 1)); then over+=("$1"); fi
}
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b - a) / 1e9}'; }

# 1. The binary, built with the flags of its Nix derivation (internal/nixexpr).
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w -buildid=' -o "$tmp/nix-docker-init" ./init
size=$(stat -c %s "$tmp/nix-docker-init")
linkage=$(file -b "$tmp/nix-docker-init" 2>/dev/null | grep -o 'statically linked' || echo "linkage unknown (no file(1))")
printf 'date:          %s\n' "$(date -u +%Y-%m-%d)"
printf 'go:            %s\n' "$(go version | cut -d' ' -f3-)"
printf 'binary:        %d bytes (%s MiB), %s (budget 4 MB)\n' "$size" "$(awk -v n="$size" 'BEGIN {printf "%.2f", n / 1048576}')" "$linkage"
budget "binary size" "$((size <= 4000000))"

# busybox_image NAME SPECDIR: a FROM-scratch image of this init, a static
# busybox and the runspecs of SPECDIR as /specs/*.json, as init/docker_test.go
# builds it.
busybox_image() {
	local busybox root=$tmp/root-$1
	busybox=$(command -v busybox) || { echo "bench/init.sh: a static busybox is needed (apt-get install busybox-static)" >&2; exit 1; }
	mkdir -p "$root/bin" "$root/specs"
	cp "$tmp/nix-docker-init" "$root/init"
	cp "$busybox" "$root/bin/busybox"
	for a in $("$busybox" --list); do
		[[ $a == busybox ]] || ln -s busybox "$root/bin/$a"
	done
	cp "$2"/* "$root/specs/"
	tar -C "$root" -c . | docker import --change 'ENTRYPOINT ["/init"]' --change 'CMD ["/specs/spec.json"]' --change 'ENV PATH=/bin' - "nix-docker-init-bench:$1-$$" >/dev/null
	images+=("nix-docker-init-bench:$1-$$")
}

# 2. The image for the stop runs.
if ((build_webapp)); then
	export NIX_CONFIG='substituters ='
	bin/nix-docker -b -q -t nix-docker-init-bench/webapp --init "$tmp/nix-docker-init" -I nixpkgs=testdata/nixpkgs examples/webapp/app.hcl >/dev/null
	image=nix-docker-init-bench/webapp
	what="examples/webapp built with this init (app: node, redis, web: httpd)"
elif ((!force_busybox)) && docker image inspect demo/webapp >/dev/null 2>&1; then
	image=demo/webapp
	what="demo/webapp (app: node, redis, web: httpd)"
else
	# Three services in a chain, each ready on a TCP port, as in the webapp.
	mkdir -p "$tmp/chain"
	cat >"$tmp/chain/spec.json" <<-'EOF'
	{"version": 1, "services": [
	  {"name": "db",    "command": "nc -ll -p 7001 -e true", "ready": {"tcp": 7001}},
	  {"name": "cache", "command": "nc -ll -p 7002 -e true", "ready": {"tcp": 7002}, "after": ["db"]},
	  {"name": "web",   "command": "httpd -f -p 7003 -h /",  "ready": {"tcp": 7003}, "after": ["cache"]}
	]}
	EOF
	busybox_image chain "$tmp/chain"
	image=nix-docker-init-bench:chain-$$
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
	t0=$(now)
	docker run -d --name "$c" "$image" >/dev/null
	until docker exec "$c" "$entry" ctl health >/dev/null 2>&1; do
		if (($(now) - t0 > 60000000000)); then
			echo "bench/init.sh: $c not ready after 60 s" >&2
			docker logs "$c" >&2
			exit 1
		fi
		sleep 0.1
	done
	t1=$(now)
	sleep 2
	pid=$(docker inspect -f '{{.State.Pid}}' "$c")
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
	t2=$(now)
	docker stop "$c" >/dev/null
	t3=$(now)
	code=$(docker inspect -f '{{.State.ExitCode}}' "$c")
	stamp() { date -d "$(docker logs -t "$c" 2>&1 | grep -m1 "init | $1" | cut -d' ' -f1)" +%s%N; }
	own=$(secs "$(stamp 'received TERM')" "$(stamp 'all services stopped')")
	printf '%-4d %10.2f %10d %10.3f %12.3f %6d\n' "$i" "$(secs "$t0" "$t1")" "$rss" "$(secs "$t2" "$t3")" "$own" "$code"
	rss_all+=("$rss") stop_all+=("$(secs "$t2" "$t3")") own_all+=("$own")
	docker rm "$c" >/dev/null
done
max() { printf '%s\n' "$@" | sort -g | tail -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf 'VmRSS of the init: median %s kB, max %s kB (budget 8192 kB)\n' "$(median "${rss_all[@]}")" "$(max "${rss_all[@]}")"
printf 'docker stop:       median %.3f s, max %.3f s (budget 1 s)\n' "$(median "${stop_all[@]}")" "$(max "${stop_all[@]}")"
printf 'init stop (log):   median %.3f s, max %.3f s\n' "$(median "${own_all[@]}")" "$(max "${own_all[@]}")"
budget "VmRSS with three services" "$(awk -v m="$(max "${rss_all[@]}")" 'BEGIN {print (m <= 8192)}')"
budget "docker stop" "$(awk -v m="$(max "${stop_all[@]}")" 'BEGIN {print (m < 1)}')"

if ((soak)); then
	# 4. Soak runs, each in its own container of the busybox image, with
	# the control socket in a host directory so that `ctl` runs on the host
	# (the init binary built above) and no `docker exec` is timed.
	mkdir -p "$tmp/soak"
	# A service that leaves a background child each time and exits: 1,000
	# restarts. restartsec and startlimitburst let it restart quickly
	# without going FATAL; an init that predates them ignores them.
	cat >"$tmp/soak/leaver.json" <<-'EOF'
	{"version": 1, "services": [
	  {"name": "leaver", "command": "sh -c 'echo >>/tmp/starts; sleep 100000 & sleep 0.01; exit 1'",
	   "startsecs": 0, "autorestart": "true", "restartsec": 0.02, "startlimitburst": 100000}
	]}
	EOF
	# A 0-second crash loop with the default restart options; each start
	# adds the time since boot (10 ms steps) to /tmp/starts.
	cat >"$tmp/soak/crashloop.json" <<-'EOF'
	{"version": 1, "services": [
	  {"name": "crash", "command": "sh -c 'cut -d\" \" -f1 /proc/uptime >>/tmp/starts; exit 1'", "startsecs": 0, "autorestart": "true"}
	]}
	EOF
	# 100 MB: 100,000 numbered lines of 1,000 bytes, as fast as awk writes,
	# once the host has created /sock/go.
	cat >"$tmp/soak/flood.sh" <<-'EOF'
	while [ ! -e /sock/go ]; do sleep 0.05; done
	awk 'BEGIN { p = sprintf("%990s", ""); gsub(/ /, "x", p); for (i = 1; i <= 100000; i++) printf("%08d %s\n", i, p) }'
	touch /sock/done
	exec sleep 100000
	EOF
	cat >"$tmp/soak/flood.json" <<-'EOF'
	{"version": 1, "services": [{"name": "flood", "command": "sh /specs/flood.sh", "startsecs": 0}]}
	EOF
	cp "$tmp/soak/leaver.json" "$tmp/soak/spec.json"
	busybox_image soak "$tmp/soak"
	soakimg=nix-docker-init-bench:soak-$$
	soak_run() { # soak_run NAME SPEC: starts a container, sets $c and $pid
		c=nix-docker-init-bench-$$-$1
		containers+=("$c")
		mkdir -p "$tmp/sock-$1"
		docker run -d --name "$c" -v "$tmp/sock-$1:/sock" -e NIX_DOCKER_INIT_SOCKET=/sock/ctl.sock "$soakimg" "/specs/$2.json" >/dev/null
		pid=$(docker inspect -f '{{.State.Pid}}' "$c")
	}
	# The fewest descriptors of five looks: while it forks, the init holds
	# both ends of three pipes for a moment.
	fds() {
		local i n m=""
		for i in 1 2 3 4 5; do
			n=$(ls "/proc/$pid/fd" | wc -l)
			if [[ -z $m ]] || ((n < m)); then m=$n; fi
		done
		echo "$m"
	}
	rss() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
	cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; } # clock ticks
	hz=$(getconf CLK_TCK)
	starts() { docker exec "$c" sh -c 'wc -l </tmp/starts 2>/dev/null || echo 0'; }
	wait_starts() { # wait_starts N LIMIT_S
		local t0
		t0=$(now)
		until (($(starts) >= $1)); do
			if (($(now) - t0 > $2 * 1000000000)); then
				echo "bench/init.sh: $c: fewer than $1 starts after $2 s" >&2
				docker logs "$c" 2>&1 | tail -20 >&2
				exit 1
			fi
			sleep 0.2
		done
	}

	soak_run leaver leaver
	wait_starts 10 60
	f0=$(fds) r0=$(rss) u0=$(cpu) n0=$(starts) t0=$(now)
	wait_starts $((n0 + 1000)) 600
	f1=$(fds) r1=$(rss) u1=$(cpu) n1=$(starts) t1=$(now)
	orphans=$(docker exec "$c" ps -o args | grep -c '^sleep 100000' || true)
	wall=$(secs "$t0" "$t1")
	printf 'soak, 1,000 restarts of a service leaving a background child (restartsec 0.02):\n'
	printf '  %-14s %8s %8s\n' "" start after
	printf '  %-14s %8d %8d\n' descriptors "$f0" "$f1" "VmRSS kB" "$r0" "$r1"
	printf '  restarts %d in %s s (%.1f/s), init CPU %.2f s (%.1f%% of one core), orphans alive %d\n' \
		"$((n1 - n0))" "$wall" "$(awk -v n=$((n1 - n0)) -v w="$wall" 'BEGIN {print n / w}')" \
		"$(awk -v u=$((u1 - u0)) -v h="$hz" 'BEGIN {print u / h}')" \
		"$(awk -v u=$((u1 - u0)) -v h="$hz" -v w="$wall" 'BEGIN {print 100 * u / h / w}')" "$orphans"
	budget "descriptors after 1,000 restarts" "$((f1 <= f0 + 4))"
	budget "VmRSS after 1,000 restarts" "$((r1 <= r0 + 3072))"
	budget "orphans after 1,000 restarts" "$((orphans <= 1))"

	soak_run crashloop crashloop
	u0=$(cpu) t0=$(now)
	# Until FATAL, or 10 s for an init that never gives up.
	until NIX_DOCKER_INIT_SOCKET="$tmp/sock-crashloop/ctl.sock" "$tmp/nix-docker-init" ctl status 2>/dev/null | grep -q FATAL; do
		(($(now) - t0 < 10000000000)) || break
		sleep 0.05
	done
	u1=$(cpu) n=$(starts)
	span=$(docker exec "$c" sh -c 'head -1 /tmp/starts; tail -1 /tmp/starts' | awk 'NR == 1 {a = $1} NR == 2 {print $1 - a}')
	state=$(NIX_DOCKER_INIT_SOCKET="$tmp/sock-crashloop/ctl.sock" "$tmp/nix-docker-init" ctl status | awk '{print $2}')
	lines=$(docker logs "$c" 2>&1 | wc -l)
	rate=$(awk -v n="$((n - 1))" -v s="$span" 'BEGIN {printf "%.1f", (s > 0 ? n / s : 999)}')
	printf 'soak, 0-second crash loop with the default restart options:\n'
	printf '  %d starts in %s s from the first to the last (%s restarts/s), state %s, init CPU %.2f s, %d log lines\n' \
		"$n" "$span" "$rate" "$state" "$(awk -v u=$((u1 - u0)) -v h="$hz" 'BEGIN {print u / h}')" "$lines"
	# 10 a second, and 0.3 for the stamps' 10 ms steps.
	budget "crash loop restart rate" "$(awk -v r="$rate" 'BEGIN {print (r <= 10.3)}')"
	budget "crash loop goes FATAL" "$([[ $state == FATAL ]] && echo 1 || echo 0)"

	go build -o "$tmp/ctlpoll" ./bench/ctlpoll
	soak_run flood flood
	sock=$tmp/sock-flood
	until NIX_DOCKER_INIT_SOCKET="$sock/ctl.sock" "$tmp/nix-docker-init" ctl status >/dev/null 2>&1; do sleep 0.05; done
	u0=$(cpu) t0=$(now)
	touch "$sock/go"
	# Poll during the flood and for 1 s after awk is done.
	read -r answers lat_median lat_max < <("$tmp/ctlpoll" "$sock/ctl.sock" "$sock/done")
	u1=$(cpu)
	wall=$(secs "$t0" "$(now)")
	got=$(docker logs "$c" 2>/dev/null | grep -c '^flood | [0-9]\{8\} x\{990\}$' || true)
	printf 'soak, 100 MB of output (100,000 lines of 1,000 bytes) with ctl status polled from the host:\n'
	printf '  %d answers, median %s ms, max %s ms; init CPU %.2f s over %s s; %d of 100000 lines whole in docker logs\n' \
		"$answers" "$lat_median" "$lat_max" "$(awk -v u=$((u1 - u0)) -v h="$hz" 'BEGIN {print u / h}')" "$wall" "$got"
	budget "ctl latency under a flood" "$(awk -v m="$lat_max" 'BEGIN {print (m <= 50)}')"
	budget "flood lines" "$((got == 100000))"
fi

if ((${#over[@]})); then
	printf 'OVER BUDGET: %s\n' "$(IFS=,; echo "${over[*]}")"
	exit 3
fi
echo "all within budget"
