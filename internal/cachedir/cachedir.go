package cachedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Root is nix-docker's cache root: nix-docker in the user's cache
// directory, else the per-user fallback in the temporary directory
// (created, and checked to be this user's alone).
func Root() (string, error) {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "nix-docker"), nil
	}
	return fallback(filepath.Join(os.TempDir(), fmt.Sprintf("nix-docker-%d", os.Getuid())))
}

// fallback creates dir (mode 0700) if it is missing and returns it when
// it is a directory, not a symlink, owned by this user, with mode 0700.
func fallback(dir string) (string, error) {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("creating the cache directory: %w", err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("checking the cache directory: %w", err)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	switch {
	case !info.IsDir():
		return "", fmt.Errorf("cache directory %s is not a directory (%s); remove it, or set XDG_CACHE_HOME", dir, info.Mode().Type())
	case !ok || int(st.Uid) != os.Getuid():
		return "", fmt.Errorf("cache directory %s is not owned by this user; remove it, or set XDG_CACHE_HOME", dir)
	case info.Mode().Perm() != 0o700:
		return "", fmt.Errorf("cache directory %s has mode %#o, want 0700; remove it, or set XDG_CACHE_HOME", dir, info.Mode().Perm())
	}
	return dir, nil
}
