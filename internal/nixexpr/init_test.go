package nixexpr_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/nixexpr"
	"github.com/nix-docker/nix-docker/internal/project"
	"github.com/nix-docker/nix-docker/schema"
)

// renderInit renders a one-service app with opts and returns the
// expression's `init = ...;` binding.
func renderInit(t *testing.T, opts nixexpr.Options) string {
	t.Helper()
	p, diags := project.Load(schema.NewParser(), filepath.Join("..", "..", "examples", "two-redis", "app.hcl"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	opts.Source = "app.hcl"
	expr, err := nixexpr.Render(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The binding runs from its comment or first line to the blank line.
	_, rest, ok := strings.Cut(string(expr), "\nlet\n")
	binding, _, _ := strings.Cut(rest, "\n\n")
	if !ok || !strings.Contains(binding, "  init = ") {
		t.Fatalf("no init binding after let in:\n%s", expr)
	}
	return binding
}

// TestInitFromSource: by default the init is a derivation of nixpkgs that
// builds the carried source with pkgs.go the way issue 8 asks: static,
// -trimpath, offline (no proxy, no checksum database, no toolchain
// download), reproducible (empty build ID, no VCS stamp), and with the Go
// toolchain barred from its closure.
func TestInitFromSource(t *testing.T) {
	got := renderInit(t, nixexpr.Options{InitSource: "/cache/nix-docker/init-src/0123"})
	for _, want := range []string{
		`init = pkgs.runCommand "nix-docker-init" {`,
		`src = builtins.path { path = "/cache/nix-docker/init-src/0123"; name = "nix-docker-init-src"; };`,
		`CGO_ENABLED = "0";`,
		`GOFLAGS = "-mod=readonly";`,
		`GOPROXY = "off";`,
		`GOSUMDB = "off";`,
		`GOTOOLCHAIN = "local";`,
		`GOENV = "off";`,
		`disallowedReferences = [ pkgs.go ];`,
		`${pkgs.go}/bin/go build -trimpath -buildvcs=false -ldflags="-s -w -buildid=" -o "$out" ./init`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the init's derivation lacks %s:\n%s", want, got)
		}
	}
}

// TestInitOverride: --init puts the given binary into the store as it is,
// and nothing is built from source.
func TestInitOverride(t *testing.T) {
	got := renderInit(t, nixexpr.Options{InitPath: "/opt/my-init", InitSource: "/cache/src"})
	want := `init = builtins.path { path = "/opt/my-init"; name = "nix-docker-init"; };`
	if !strings.Contains(got, want) || strings.Contains(got, "pkgs.go") {
		t.Errorf("init binding = %s, want %s", got, want)
	}
}

// TestInitSourceQuoted: the source directory is a host path and lands in
// a Nix string, quoted by Nix's rules.
func TestInitSourceQuoted(t *testing.T) {
	got := renderInit(t, nixexpr.Options{InitSource: `/home/a"b/${x}/c\d`})
	want := `path = "/home/a\"b/\${x}/c\\d";`
	if !strings.Contains(got, want) {
		t.Errorf("init binding = %s, want it to contain %s", got, want)
	}
}

// TestNoInit: rendering without an init is an error, not an expression
// that fails inside Nix.
func TestNoInit(t *testing.T) {
	p, diags := project.Load(schema.NewParser(), filepath.Join("..", "..", "examples", "two-redis", "app.hcl"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if _, err := nixexpr.Render(p, nixexpr.Options{Source: "app.hcl"}); err == nil {
		t.Error("Render with neither InitPath nor InitSource succeeded")
	}
}
