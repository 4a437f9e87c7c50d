package supervise

import (
	"fmt"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/nix-docker/nix-docker/internal/runspec"
)

// Setup prepares the container's file system under root ("/" in a
// container) before any service starts: /tmp (1777) and /run (0755) when
// they are missing, and the runspec's directories with their owners and
// exact modes. It never follows a symbolic link below root: a service user
// who can write a parent directory could otherwise point a declared
// directory at /etc and have it chowned and chmodded at the next start.
func Setup(sp *runspec.Spec, root string) error {
	rootFd, err := syscall.Open(root, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", root, err)
	}
	defer syscall.Close(rootFd)
	for _, d := range []struct {
		path string
		mode uint32
	}{{"/tmp", syscall.S_ISVTX | 0o777}, {"/run", 0o755}} {
		if _, err := os.Lstat(path.Join(root, d.path)); err == nil {
			continue
		}
		if err := makeDir(rootFd, root, d.path, -1, -1, d.mode); err != nil {
			return err
		}
	}
	users := map[string]runspec.User{}
	for _, u := range sp.Users {
		users[u.Name] = u
	}
	groups := map[string]int{}
	for _, g := range sp.Groups {
		groups[g.Name] = g.GID
	}
	for _, d := range sp.Directories {
		uid, gid := -1, -1
		if d.User != "" {
			u, ok := users[d.User]
			if !ok {
				return fmt.Errorf("directory %s: unknown user %q", d.Path, d.User)
			}
			uid, gid = u.UID, u.GID
		}
		if d.Group != "" {
			g, ok := groups[d.Group]
			if !ok {
				return fmt.Errorf("directory %s: unknown group %q", d.Path, d.Group)
			}
			gid = g
		}
		if d.Mode > 0o7777 {
			return fmt.Errorf("directory %s: mode %#o has bits beyond 07777", d.Path, d.Mode)
		}
		if err := makeDir(rootFd, root, d.Path, uid, gid, d.Mode); err != nil {
			return err
		}
	}
	return nil
}

// makeDir makes dir (absolute, below the directory rootFd, which is root)
// one component at a time with mkdirat and openat(O_NOFOLLOW), so that no
// symbolic link is followed, then sets the owner (-1 keeps it) and the
// mode (07777 bits, exactly) on the directory it opened. Directories it
// makes on the way are root's, 0755.
func makeDir(rootFd int, root, dir string, uid, gid int, mode uint32) error {
	clean := path.Clean("/" + dir)
	if clean == "/" {
		return fmt.Errorf("directory %s: the root cannot be declared", dir)
	}
	fd, err := syscall.Dup(rootFd)
	if err != nil {
		return fmt.Errorf("directory %s: %w", dir, err)
	}
	defer func() { syscall.Close(fd) }()
	walked := ""
	for _, name := range strings.Split(clean[1:], "/") {
		walked += "/" + name
		if err := syscall.Mkdirat(fd, name, 0o755); err != nil && err != syscall.EEXIST {
			return fmt.Errorf("directory %s: making %s: %w", dir, walked, err)
		}
		next, err := syscall.Openat(fd, name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("directory %s: %w", dir, notADir(root, walked, err))
		}
		syscall.Close(fd)
		fd = next
	}
	if err := syscall.Fchown(fd, uid, gid); err != nil {
		return fmt.Errorf("directory %s: chown: %w", dir, err)
	}
	if err := syscall.Fchmod(fd, mode); err != nil {
		return fmt.Errorf("directory %s: chmod: %w", dir, err)
	}
	return nil
}

// notADir explains why walked (below root) could not be opened as a
// directory.
func notADir(root, walked string, err error) error {
	if err != syscall.ELOOP && err != syscall.ENOTDIR {
		return fmt.Errorf("opening %s: %w", walked, err)
	}
	if fi, lerr := os.Lstat(path.Join(root, walked)); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
		target, _ := os.Readlink(path.Join(root, walked))
		return fmt.Errorf("%s is a symbolic link (to %s); the init does not follow links when it makes directories", walked, target)
	}
	return fmt.Errorf("%s is not a directory", walked)
}
