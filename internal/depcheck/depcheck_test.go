package depcheck

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/nix-docker/nix-docker/"

// root is the package at the module root (package nixdocker).
const root = "github.com/nix-docker/nix-docker"

// internal tells whether an import path is one of this module's.
func internal(path string) bool { return strings.HasPrefix(path, mod) }

// std tells whether an import path belongs to the standard library
// (its vendored packages included).
func std(path string) bool {
	return !strings.Contains(strings.SplitN(path, "/", 2)[0], ".") || strings.HasPrefix(path, "vendor/")
}

// only allows the standard library, outside modules, and the module's
// packages named.
func only(pkgs ...string) func(string) bool {
	return func(d string) bool { return !internal(d) || slices.Contains(pkgs, strings.TrimPrefix(d, mod)) }
}

func goList(t *testing.T, format, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", format, strings.TrimSuffix(mod+pkg, "/")).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestDeps guards what each package may depend on, directly or not: the
// in-image init uses the standard library and the two contract packages
// only (Nix builds it from the source nix-docker carries, with no module
// proxy: package internal/initsrc); the leaf packages import no siblings.
func TestDeps(t *testing.T) {
	rules := []struct {
		pkg     string
		allowed func(dep string) bool
	}{
		{"init", func(d string) bool {
			return std(d) || strings.HasPrefix(d, mod+"init/") || d == mod+"internal/runspec" || d == mod+"internal/contract"
		}},
		// The module root only embeds the init's source.
		{"", std},
		{"internal/initsrc", func(d string) bool { return std(d) || d == root || d == mod+"internal/cachedir" }},
		{"internal/runspec", std},
		{"internal/contract", std},
		{"internal/cachedir", std},
		{"schema", only()},
		{"modules", only()},
		{"internal/nixbuild", only()},
		{"internal/layers", only()},
		{"internal/docker", only("internal/cachedir")},
		{"internal/image", only("internal/runspec", "internal/cachedir")},
		{"internal/oci", only("internal/image", "internal/runspec", "internal/cachedir")},
		{"internal/output", only("internal/image", "internal/oci", "internal/docker", "internal/runspec", "internal/cachedir")},
		{"internal/quote", std},
		{"internal/npm", std},
		{"internal/project", only("schema", "modules", "internal/runspec", "internal/contract", "internal/quote", "internal/npm")},
		{"internal/nixexpr", only("internal/project", "internal/contract", "schema", "modules", "internal/runspec", "internal/quote", "internal/npm")},
		{"internal/deploy", only()}, // builds by running nix-docker, so it needs none of the stages
		{"internal/version", std},
	}
	for _, r := range rules {
		for _, dep := range goList(t, "{{join .Deps \" \"}}", r.pkg) {
			if !r.allowed(dep) {
				t.Errorf("%s imports %s, which its layer must not", r.pkg, dep)
			}
		}
	}
}

// TestImports guards the direct imports of the top of the tree: the
// command line is flags and wiring (the pipeline, the outputs it
// chooses, the engine connection it shares, and the commands that are
// not builds: deploy, version), and the stages' packages are imported by
// the pipeline, not by each other or the command line.
func TestImports(t *testing.T) {
	for _, dep := range goList(t, "{{join .Imports \" \"}}", "cmd/nix-docker") {
		if internal(dep) && !slices.Contains([]string{"internal/pipeline", "internal/output", "internal/docker", "internal/deploy", "internal/version"}, strings.TrimPrefix(dep, mod)) {
			t.Errorf("cmd/nix-docker imports %s: it wires the pipeline and outputs, and reaches no further", dep)
		}
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	// Who may import whom: the pipeline is the hub, and only it sees
	// Nix, the expression and the stages together.
	importers := map[string][]string{
		"internal/pipeline": {"cmd/nix-docker"},
		"internal/output":   {"cmd/nix-docker", "internal/pipeline"},
		"internal/nixbuild": {"internal/pipeline"},
		"internal/nixexpr":  {"internal/pipeline"},
		"internal/layers":   {"internal/pipeline"},
		"internal/project":  {"internal/pipeline", "internal/nixexpr"},
		"schema":            {"internal/pipeline", "internal/project"},
		"internal/initsrc":  {"internal/pipeline"},
		root:                {"internal/initsrc"},
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], mod)
		for _, dep := range f[1:] {
			allowed, ruled := importers[strings.TrimPrefix(dep, mod)]
			if (internal(dep) || dep == root) && ruled && !slices.Contains(allowed, pkg) {
				t.Errorf("%s imports %s; only %s may", pkg, strings.TrimPrefix(dep, mod), strings.Join(allowed, ", "))
			}
		}
	}
	for _, dep := range goList(t, "{{join .Imports \" \"}}", "internal/pipeline") {
		if dep == mod+"internal/testutil" {
			t.Errorf("the pipeline imports %s", dep)
		}
	}
}
