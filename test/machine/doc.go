// Package machine tests the machine set-up the README's commands rely on,
// with the real Nix and Docker engine: scripts/setup on the Nix state of a
// fresh Debian machine (fresh.sh), and builds through nix-daemon as a
// non-root user (daemon.sh). Each script runs as root in a private mount
// namespace with a tmpfs copy of /etc, so the users, groups and nix.conf it
// makes or removes never reach the machine's own.
package machine
