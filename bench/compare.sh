#!/usr/bin/env bash
# Comparison benchmark (issue 12, docs/benchmarks.md): the webapp example
# built and put into the Docker engine five ways, in one run, medians of
# RUNS runs each:
#
#   nd-load    nix-docker -b: the layers the engine lacks, as a partial
#              docker-archive through the Engine API
#   nd-pipe    nix-docker -b -o - | docker load: the full docker-archive
#   dockerfile nix-build the system path, copy its closure into a build
#              context, `docker build` (DOCKER_BUILDKIT=0) a Dockerfile
#              that COPYs it FROM scratch
#   import     nix-build, then `tar` of the closure's files piped into
#              `docker import` (one layer)
#   host-store nix-docker without -b, and the metadata-only image loaded
#              as bin/docker-run loads it
#
# Every way starts from app.hcl, so each includes Nix's evaluation and
# build of the app's paths. Three situations:
#
#   cold      the engine holds none of the image's layers (every image
#             this script made is removed first; --no-cache for the
#             Dockerfile) and nix-docker's layer cache is empty; the Nix
#             store already holds the packages (the same for every way)
#   change    one line appended to the Node app's server.js (each way its
#             own line, so Nix builds the app's paths for each)
#   no change the same build again
#
# and, for reference, nix-build's own no-op on the same expression.
#
# usage: bench/compare.sh [RUNS]   (default 3; needs scripts/setup)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
runs=${1:-3}
export NIX_CONFIG="substituters =${NIX_CONFIG:+
$NIX_CONFIG}"
nixpkgs=${NIXPKGS:-$PWD/testdata/nixpkgs}
ways=(nd-load nd-pipe dockerfile import host-store)

tmp=$(mktemp -d)
id=$$
name=nix-docker-bench/compare-$id
cleanup_images() {
	local ids
	ids=$(
		docker images -q --filter "label=org.nix-docker.name=$name"
		docker images -q --filter "label=nix-docker-bench=$id"
		docker images -q "$name"
	)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || docker rmi -f $(sort -u <<<"$ids") >/dev/null 2>&1 || true
}
cleanup() {
	cleanup_images
	chmod -R u+w "$tmp" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o bin/nix-docker ./cmd/nix-docker
for w in "${ways[@]}"; do
	cp -r examples/webapp "$tmp/$w"
	chmod -R u+w "$tmp/$w"
done

now() { date +%s.%N; }
edit() { echo "// $1 $(date +%s%N)" >>"$tmp/$1/app/server.js"; }

# nixbuild WAY: the system path of WAY's app, built by nix-build.
nixbuild() {
	bin/nix-docker nix "$tmp/$1/app.hcl" >"$tmp/$1.nix"
	nix-build --no-out-link -I "nixpkgs=$nixpkgs" "$tmp/$1.nix" 2>/dev/null
}

# build WAY SITUATION: one build; prints what it sent when it knows.
build() {
	local way=$1 situation=$2 cache=$tmp/cache-$1 sys ctx link img
	if [ "$situation" = cold ]; then
		chmod -R u+w "$cache" 2>/dev/null || true
		rm -rf "$cache"
	fi
	mkdir -p "$cache"
	case $way in
	nd-load)
		XDG_CACHE_HOME=$cache bin/nix-docker -b -t "$name:$way" -I "nixpkgs=$nixpkgs" "$tmp/$way/app.hcl" 2>&1 >/dev/null |
			sed -n 's/.*: \([0-9]* layers\{0,1\} sent ([^)]*)\), \([0-9]*\) already.*/\1, \2 held/p'
		;;
	nd-pipe)
		XDG_CACHE_HOME=$cache bin/nix-docker -q -b -t "$name:$way" -I "nixpkgs=$nixpkgs" -o - "$tmp/$way/app.hcl" | docker load -q >/dev/null
		;;
	dockerfile)
		sys=$(nixbuild "$way")
		ctx=$tmp/ctx
		chmod -R u+w "$ctx" 2>/dev/null || true
		rm -rf "$ctx"
		mkdir -p "$ctx/nix/store" "$ctx/root/etc" "$ctx/root/tmp" "$ctx/root/run"
		# shellcheck disable=SC2046
		cp -a $(nix-store -qR "$sys") "$ctx/nix/store/"
		for f in group nsswitch.conf passwd; do ln -s "$sys/etc/$f" "$ctx/root/etc/$f"; done
		chmod 1777 "$ctx/root/tmp"
		cat >"$ctx/Dockerfile" <<-EOF
			FROM scratch
			COPY nix /nix
			COPY root /
			LABEL nix-docker-bench=$id
			ENTRYPOINT ["$(readlink "$sys/init")", "$sys/runspec.json"]
		EOF
		local nocache=
		[ "$situation" != cold ] || nocache=--no-cache
		DOCKER_BUILDKIT=0 docker build -q $nocache -t "$name:$way" "$ctx" >/dev/null 2>&1
		;;
	import)
		sys=$(nixbuild "$way")
		# shellcheck disable=SC2046
		tar -C / -cf - $(nix-store -qR "$sys" | sed 's,^/,,') |
			docker import -c "LABEL nix-docker-bench=$id" -c "ENTRYPOINT [\"$(readlink "$sys/init")\", \"$sys/runspec.json\"]" - "$name:$way" >/dev/null
		;;
	host-store)
		link=$tmp/result-$way
		bin/nix-docker -q -t "$name:$way" -I "nixpkgs=$nixpkgs" -o "$link" "$tmp/$way/app.hcl" >/dev/null
		img=$(sed -n 's/^image=//p' "$link/bin/docker-run")
		docker image inspect "$img" >/dev/null 2>&1 || docker load -q -i "$link/image.tar" >/dev/null
		;;
	esac
}

# timed WAY SITUATION: prints "seconds [what was sent]".
timed() {
	local t0 t1 sent
	t0=$(now)
	sent=$(build "$1" "$2")
	t1=$(now)
	awk -v a="$t0" -v b="$t1" -v s="$sent" 'BEGIN { printf "%.2f%s\n", b - a, (s == "" ? "" : " (" s ")") }'
}

declare -A results
record() { results[$1/$2]="${results[$1/$2]:-} $3"; }

echo "$(date -u +%Y-%m-%d) on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(docker version --format 'Docker {{.Server.Version}}') ($(docker info --format '{{.Driver}}')); $(nix-build --version); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Cold: every image of this run removed before each build.
for r in $(seq "$runs"); do
	for w in "${ways[@]}"; do
		cleanup_images
		edit "$w"
		out=$(timed "$w" cold)
		echo "cold $w: $out" >&2
		record "$w" cold "${out%% *}"
	done
done
# Each way's image in the engine, then one-line changes and no change.
for w in "${ways[@]}"; do build "$w" warm >/dev/null; done
for r in $(seq "$runs"); do
	for w in "${ways[@]}"; do
		edit "$w"
		out=$(timed "$w" change)
		echo "change $w: $out" >&2
		record "$w" change "${out%% *}"
	done
done
for r in $(seq "$runs"); do
	for w in "${ways[@]}"; do
		out=$(timed "$w" nochange)
		echo "no change $w: $out" >&2
		record "$w" nochange "${out%% *}"
	done
	bin/nix-docker nix "$tmp/nd-load/app.hcl" >"$tmp/noop.nix"
	t0=$(now)
	nix-build --no-out-link -I "nixpkgs=$nixpkgs" "$tmp/noop.nix" >/dev/null 2>&1
	t1=$(now)
	record nix-build nochange "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '| way | cold | one-line change | no change |\n|---|---|---|---|\n'
for w in "${ways[@]}"; do
	printf '| %s | %s s | %s s | %s s |\n' "$w" \
		"$(median <<<"${results[$w/cold]}")" "$(median <<<"${results[$w/change]}")" "$(median <<<"${results[$w/nochange]}")"
done
printf '| nix-build no-op | | | %s s |\n' "$(median <<<"${results[nix-build/nochange]}")"

# Where a one-line change's time goes with nix-docker -b, step by step:
# the expression, nix-build (evaluation, the app's source, the system
# path), the closure query, then nix-docker -b itself, whose nix-build is
# a no-op by then (so the rest is closure, tars and the engine's load).
declare -A steps
step() { # NAME COMMAND...
	local t0 t1
	t0=$(now)
	"${@:2}" >/dev/null 2>&1
	t1=$(now)
	steps[$1]="${steps[$1]:-} $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
}
for r in $(seq "$runs"); do
	edit nd-load
	step render bin/nix-docker nix "$tmp/nd-load/app.hcl"
	bin/nix-docker nix "$tmp/nd-load/app.hcl" >"$tmp/step.nix"
	step nix-build nix-build --no-out-link -I "nixpkgs=$nixpkgs" "$tmp/step.nix"
	sys=$(nix-build --no-out-link -I "nixpkgs=$nixpkgs" "$tmp/step.nix" 2>/dev/null)
	step path-info nix --extra-experimental-features nix-command path-info --json --recursive "$sys"
	step noop nix-build --no-out-link -I "nixpkgs=$nixpkgs" "$tmp/step.nix"
	step nix-docker env XDG_CACHE_HOME="$tmp/cache-nd-load" bin/nix-docker -b -t "$name:nd-load" -I "nixpkgs=$nixpkgs" "$tmp/nd-load/app.hcl"
done
printf '\n| a one-line change, step by step (nd-load) | median |\n|---|---|\n'
printf '| nix-docker nix (read the HCL, render the expression) | %s s |\n' "$(median <<<"${steps[render]}")"
printf '| nix-build (evaluation, the app source, the system path) | %s s |\n' "$(median <<<"${steps[nix-build]}")"
printf '| nix path-info --json --recursive (the closure) | %s s |\n' "$(median <<<"${steps[path-info]}")"
printf '| nix-build no-op | %s s |\n' "$(median <<<"${steps[noop]}")"
printf '| nix-docker -b after that (no-op nix-build, closure, tars, load of 1 layer) | %s s |\n' "$(median <<<"${steps[nix-docker]}")"

# A rebuild without a change, step by step, as NIX_DOCKER_TRACE reports
# it (image IDs and tags left out of the step names); "whole" is the
# process, start to exit.
declare -A trace
order=()
for r in $(seq "$runs"); do
	t0=$(now)
	out=$(NIX_DOCKER_TRACE=1 XDG_CACHE_HOME="$tmp/cache-nd-load" bin/nix-docker -b -t "$name:nd-load" -I "nixpkgs=$nixpkgs" "$tmp/nd-load/app.hcl" 2>&1 >/dev/null)
	t1=$(now)
	while IFS=$'\t' read -r what ms; do
		[ -n "${trace[$what]:-}" ] || order+=("$what")
		trace[$what]="${trace[$what]:-} $ms"
	done < <(sed -n 's/^trace: *[-0-9.]*s *\([0-9.]*\)ms  \(.*\)$/\2\t\1/p' <<<"$out" | sed 's/sha256:[0-9a-f]*/IMAGE/g; s/ as [^ ]*$/ as TAG/' | awk -F'\t' '{ printf "%s\t%.3f\n", $1, $2 / 1000 }')
	[ -n "${trace[whole]:-}" ] || order+=(whole)
	trace[whole]="${trace[whole]:-} $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
done
printf '\n| a rebuild without a change, step by step (nd-load, NIX_DOCKER_TRACE) | median |\n|---|---|\n'
for what in "${order[@]}"; do
	printf '| %s | %s s |\n' "$what" "$(median <<<"${trace[$what]}")"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
