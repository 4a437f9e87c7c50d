#!/usr/bin/env bash
# Provisions the playground VM (vagrant/Vagrantfile runs it as root), or
# any Debian or Ubuntu machine: installs Go when it is missing (the one
# thing scripts/setup leaves to the user), runs scripts/setup (which
# installs and starts everything else), enables the Docker engine and the
# Nix daemon as services where systemd runs, lets the login user use both,
# and starts the demo. Run it again and it changes nothing but restarting
# the demo.
#
#   vagrant/provision.sh [REPO]      REPO: the repository (default: this script's)
#
# NIX_DOCKER_VM=1 (set by the Vagrantfile) also makes the demo publish its
# ports on all of the guest's addresses, where forwarded ports arrive.
# scripts/demo's variables (DEMO_NAME, DEMO_TAG, DEMO_ADDR, APP_PORT, ...)
# pass through.
set -euo pipefail
repo=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$repo"

say() { echo "provision: $*" >&2; }
die() { echo "provision: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (vagrant does)"

# --- Go -------------------------------------------------------------------
# The go.mod version, from go.dev, checked against the checksum go.dev lists.
install_go() {
  local version=$1 arch file sum
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) die "no Go download for $(uname -m): install Go $version by hand" ;;
  esac
  command -v curl >/dev/null || {
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends curl ca-certificates >/dev/null
  }
  file="go$version.linux-$arch.tar.gz"
  sum=$(curl -fsSL 'https://go.dev/dl/?mode=json&include=all' | tr -d ' \n' |
    grep -o "\"filename\":\"$file\",[^}]*\"sha256\":\"[0-9a-f]*\"" | sed 's/.*"sha256":"//; s/"$//')
  [ -n "$sum" ] || die "go.dev lists no $file"
  say "installing Go $version in /usr/local/go (from https://go.dev/dl/$file)"
  curl -fsSL -o "/tmp/$file" "https://go.dev/dl/$file"
  echo "$sum  /tmp/$file" | sha256sum -c --quiet - || die "$file does not match its checksum"
  rm -rf /usr/local/go
  tar -C /usr/local -xzf "/tmp/$file"
  rm -f "/tmp/$file"
  ln -sf /usr/local/go/bin/go /usr/local/bin/go
}
if command -v go >/dev/null || [ -x /usr/local/go/bin/go ]; then
  say "Go: present"
else
  install_go "$(sed -n 's/^go //p' go.mod)"
fi
export PATH="$PATH:/usr/local/go/bin"

# --- everything else --------------------------------------------------------
scripts/setup

# --- services -----------------------------------------------------------------
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  if ! systemctl cat nix-daemon.service >/dev/null 2>&1; then
    # Debian's nix-bin ships the daemon but no unit (nix-setup-systemd has
    # one): write the same, so users other than root reach the store.
    say "writing /etc/systemd/system/nix-daemon.service"
    cat >/etc/systemd/system/nix-daemon.service <<'UNIT'
[Unit]
Description=Nix daemon (written by nix-docker's vagrant/provision.sh)
RequiresMountsFor=/nix/store /nix/var

[Service]
ExecStart=/usr/bin/nix-daemon
KillMode=process
LimitNOFILE=1048576

[Install]
WantedBy=multi-user.target
UNIT
    systemctl daemon-reload
  fi
  for unit in docker.service nix-daemon.service; do
    if systemctl is-enabled --quiet "$unit" && systemctl is-active --quiet "$unit"; then
      say "$unit: enabled and running"
    else
      systemctl enable --now "$unit"
      say "$unit: enabled and started"
    fi
  done
else
  say "no systemd here: the Docker engine and Nix run as scripts/setup started them (not again after a reboot)"
fi

# --- the login user -----------------------------------------------------------
# vagrant in the VM (sudo's caller elsewhere) may use Docker and the Nix
# daemon without sudo, and rebuild bin/ when it runs scripts/demo.
user=${SUDO_USER:-}
if [ -n "${NIX_DOCKER_VM:-}" ] && id vagrant >/dev/null 2>&1; then
  user=vagrant
fi
if [ -n "$user" ] && [ "$user" != root ]; then
  for group in docker nix-users; do
    if getent group "$group" >/dev/null && ! id -nG "$user" | tr ' ' '\n' | grep -qx "$group"; then
      usermod -aG "$group" "$user"
      say "added $user to the group $group (from the next login)"
    fi
  done
fi

# --- the demo -------------------------------------------------------------------
if [ -n "${NIX_DOCKER_VM:-}" ]; then
  export DEMO_ADDR=${DEMO_ADDR:-0.0.0.0}
  # For the demo runs after this one, in `vagrant ssh` sessions.
  grep -qs '^DEMO_ADDR=' /etc/environment || echo "DEMO_ADDR=$DEMO_ADDR" >>/etc/environment
fi
scripts/demo
# scripts/setup ran as root here: give bin/ back to the repository's owner.
chown -R --reference=. bin
