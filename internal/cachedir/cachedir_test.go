package cachedir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// TestRootUserCache: with a cache directory, the root is nix-docker in it.
func TestRootUserCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	got, err := Root()
	if err != nil || got != filepath.Join(cache, "nix-docker") {
		t.Errorf("Root() = %q, %v; want %q", got, err, filepath.Join(cache, "nix-docker"))
	}
}

// TestRootFallback: without HOME and XDG_CACHE_HOME the root is this
// user's own directory in TMPDIR, created 0700, never TMPDIR itself.
func TestRootFallback(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	t.Setenv("TMPDIR", tmp)
	want := filepath.Join(tmp, fmt.Sprintf("nix-docker-%d", os.Getuid()))
	for i := 0; i < 2; i++ { // created, then found
		got, err := Root()
		if err != nil || got != want {
			t.Fatalf("Root() = %q, %v; want %q", got, err, want)
		}
	}
	info, err := os.Lstat(want)
	if err != nil || !info.IsDir() || info.Mode().Perm() != 0o700 {
		t.Fatalf("fallback directory %v, %v; want a directory of mode 0700", info, err)
	}
}

// TestFallbackRefused: a symlink, a file, or a directory others can
// write under the fallback's name is refused, and left as it was.
func TestFallbackRefused(t *testing.T) {
	tmp := t.TempDir()
	other := t.TempDir()
	cases := map[string]func(string) error{
		"symlink": func(p string) error { return os.Symlink(other, p) },
		"file":    func(p string) error { return os.WriteFile(p, nil, 0o600) },
		"mode 0777": func(p string) error {
			if err := os.Mkdir(p, 0o700); err != nil {
				return err
			}
			return os.Chmod(p, 0o777)
		},
	}
	for name, make := range cases {
		p := filepath.Join(tmp, strings.ReplaceAll(name, " ", "-"))
		if err := make(p); err != nil {
			t.Fatal(err)
		}
		before, _ := os.Lstat(p)
		if got, err := fallback(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: fallback = %q, %v; want an error naming %s", name, got, err, p)
		}
		if after, _ := os.Lstat(p); after.Mode() != before.Mode() {
			t.Errorf("%s: mode changed from %v to %v", name, before.Mode(), after.Mode())
		}
	}
}

// TestFallbackOtherOwner: a directory of another user is refused (needs
// root, to make one).
func TestFallbackOtherOwner(t *testing.T) {
	testutil.NeedRoot(t)
	p := filepath.Join(t.TempDir(), "theirs")
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if got, err := fallback(p); err == nil || !strings.Contains(err.Error(), "not owned") {
		t.Errorf("fallback = %q, %v; want an error: not owned by this user", got, err)
	}
}
