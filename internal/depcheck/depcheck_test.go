package testutil

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDepcheck guards the import rules of STYLE.md: the in-image init uses
// the standard library and runspec only; the leaf packages import no
// siblings; only build knows the whole pipeline.
func TestDepcheck(t *testing.T) {
	const mod = "github.com/nix-docker/nix-docker/"
	rules := []struct {
		pkg     string
		allowed func(dep string) bool
	}{
		{"init", func(d string) bool {
			return std(d) || strings.HasPrefix(d, mod+"init/") || d == mod+"internal/runspec" || strings.HasPrefix(d, "golang.org/x/sys")
		}},
		{"internal/runspec", std},
		{"schema", func(d string) bool { return !strings.HasPrefix(d, mod) }},
		{"modules", func(d string) bool { return !strings.HasPrefix(d, mod) }},
		{"internal/nixbuild", func(d string) bool { return !strings.HasPrefix(d, mod) }},
		{"internal/layers", func(d string) bool { return !strings.HasPrefix(d, mod) }},
		{"internal/docker", func(d string) bool { return !strings.HasPrefix(d, mod) }},
		{"internal/image", func(d string) bool { return !strings.HasPrefix(d, mod) || d == mod+"internal/runspec" }},
		{"internal/project", func(d string) bool {
			return !strings.HasPrefix(d, mod) || d == mod+"schema" || d == mod+"modules" || d == mod+"internal/runspec"
		}},
		{"internal/nixexpr", func(d string) bool {
			return !strings.HasPrefix(d, mod) || d == mod+"internal/project" || d == mod+"schema" || d == mod+"modules" || d == mod+"internal/runspec"
		}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+r.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", r.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == mod+r.pkg || r.allowed(dep) {
				continue
			}
			t.Errorf("%s imports %s, which its layer must not", r.pkg, dep)
		}
	}
}

// std tells whether an import path belongs to the standard library
// (its vendored packages included).
func std(path string) bool {
	return !strings.Contains(strings.SplitN(path, "/", 2)[0], ".") || strings.HasPrefix(path, "vendor/")
}
