// Package cachedir says where nix-docker keeps what it caches between
// builds: nix-docker in the user's cache directory ($XDG_CACHE_HOME or
// ~/.cache on Linux), or, where there is none (HOME and XDG_CACHE_HOME
// unset, as in systemd units and some CI), one directory of this user's
// own in the temporary directory: nix-docker-UID, mode 0700, refused
// when anything else is found under that name.
//
// Every cache (layer records, closures, saved base layers, the image
// ledger, push spools, the init's source) lives under that one root, never
// directly in a shared directory such as /tmp, where another user could
// plant a record or have prune remove their files.
//
// It creates only the fallback directory; the caches create their own.
package cachedir
