# Builder of importNpmLock.buildNodeModules in testdata/nixpkgs (TEST DATA).
# Runs under Debian's static busybox `sh -e`, in Nix's build sandbox (no
# network): the same steps as nixpkgs' buildNodeModules and its npmConfigHook.
#
#   postPatch     package.json and package-lock.json as given
#   npmConfigHook the patched pair from npmDeps (every `resolved` a file:/nix/store
#                 tarball), `npm install --ignore-scripts` offline, shebangs
#                 patched, `npm rebuild` (the packages' install scripts)
#   installPhase  $out/{package.json,package-lock.json,node_modules}, postInstall
#
# Where nixpkgs has a compiler toolchain for node-gyp (python3, make, a C++
# compiler), this package set has none: a package that builds a native addon
# fails the build here, named, before npm runs its scripts.

set -f # no globbing: words below are split, never expanded
export PATH="$nodejs/bin:$busybox/bin"
for p in $nativeBuildInputs; do
  PATH="$p/bin:$PATH"
done
export HOME="$TMPDIR"
# npm's own settings (nixpkgs: npm config set offline/progress/fund); no user
# or machine npmrc is visible in the sandbox.
export npm_config_offline=true npm_config_progress=false npm_config_fund=false \
  npm_config_audit=false npm_config_update_notifier=false \
  npm_config_script_shell="$busybox/bin/sh" npm_config_cache="$TMPDIR/npm-cache"

# Stock Nix gives the sandbox a /bin/sh, Debian's nix-bin does not: Node.js'
# child_process (which install scripts use) gets busybox's sh instead.
if [ ! -e /bin/sh ]; then
  export NIX_SANDBOX_SH="$busybox/bin/sh" NODE_OPTIONS="--require $shellShim"
fi

mkdir "$TMPDIR/source"
cd "$TMPDIR/source"

# postPatch
cp "$packagePath" package.json
cp "$packageLockPath" package-lock.json
chmod u+w package.json package-lock.json
eval "${postPatch:-}"

# npmConfigHook
echo "Installing patched package.json/package-lock.json"
mv package.json .package.json.orig
mv package-lock.json .package-lock.json.orig
cp "$npmDeps/package.json" package.json
cp "$npmDeps/package-lock.json" package-lock.json
chmod u+w package.json package-lock.json

# patchShebangs: #!/usr/bin/env X and #!/path/X name a program of PATH.
patch_shebangs() {
  find "$1" -type f -perm -u+x | while read -r f; do
    first=$(head -c 256 "$f" | head -n 1)
    case "$first" in '#!'*) ;; *) continue ;; esac
    set -- ${first#??}
    prog=$1
    if [ "${prog##*/}" = env ]; then
      shift
      [ "${1:-}" != -S ] || shift
      prog=${1:-}
    fi
    [ -n "$prog" ] || continue
    found=$(command -v "${prog##*/}" || true)
    case "$found" in /nix/store/*) ;; *) continue ;; esac
    shift
    { printf '#!%s%s\n' "$found" "${*:+ $*}"; tail -n +2 "$f"; } > "$TMPDIR/shebang"
    cat "$TMPDIR/shebang" > "$f"
  done
}

echo "Installing dependencies"
# shellcheck disable=SC2086
if ! npm install --ignore-scripts $npmInstallFlags $npmFlags; then
  echo
  echo "ERROR: npm failed to install dependencies"
  exit 1
fi
[ ! -d node_modules ] || patch_shebangs node_modules

# Install scripts: name the packages whose native addons need node-gyp's
# toolchain, which this package set lacks; run the others.
[ ! -d node_modules ] || node "$checkScript" node_modules
# shellcheck disable=SC2086
npm rebuild $npmRebuildFlags $npmFlags
[ ! -d node_modules ] || patch_shebangs node_modules

# installPhase
mkdir "$out"
cp package.json "$out/"
cp package-lock.json "$out/"
[ ! -d node_modules ] || mv node_modules "$out/"
eval "${postInstall:-}"
