package supervise

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/nix-docker/nix-docker/internal/runspec"
)

// Setup prepares the container's file system under root ("/" in a
// container) before any service starts: /tmp (1777), /run (0755) and the
// runspec's directories with their owners and modes.
func Setup(sp *runspec.Spec, root string) error {
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{"tmp", os.ModeSticky | 0o777}, {"run", 0o755}} {
		p := filepath.Join(root, d.path)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(p, d.mode); err != nil {
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
		p := filepath.Join(root, d.Path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("directory %s: %w", d.Path, err)
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("directory %s: %w", d.Path, err)
		}
		mode := os.FileMode(d.Mode & 0o777)
		if d.Mode&0o1000 != 0 {
			mode |= os.ModeSticky
		}
		if d.Mode&0o2000 != 0 {
			mode |= os.ModeSetgid
		}
		if d.Mode&0o4000 != 0 {
			mode |= os.ModeSetuid
		}
		if d.Mode == 0 {
			mode = 0o755
		}
		if err := os.Chmod(p, mode); err != nil {
			return fmt.Errorf("directory %s: %w", d.Path, err)
		}
	}
	return nil
}
