package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// TestSandbox: builds here run in Nix's sandbox. A file's check that
// passes only where the host's /usr/bin and /run cannot be seen builds;
// the same file with the sandbox switched off fails, so the probe tells
// the two apart.
func TestSandbox(t *testing.T) {
	t.Parallel()
	testutil.NeedNix(t)
	bin := nixDocker(t)
	dir := t.TempDir()
	app := filepath.Join(dir, "app.hcl")
	src := `# A fresh derivation (the unique text), so a cached output cannot hide the build.
file "probe" {
  text  = "` + unique("sandbox-probe") + `"
  check = "${pkgs.busybox}/bin/sh -c 'test ! -e /usr/bin && test ! -e /run && test -e $out'"
}
service "probe" {
  command = "${pkgs.busybox}/bin/cat ${file.probe}"
  oneshot = true
}
`
	if err := os.WriteFile(app, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-I", nixpkgsArg(t), "-o", filepath.Join(dir, "result"), app}
	// Root may switch the sandbox off per build; the probe must then fail.
	off := runEnv(t, []string{"NIX_CONFIG=" + os.Getenv("NIX_CONFIG") + "\nsandbox = false\n"}, bin, args...)
	if off.code == 0 || !strings.Contains(off.stderr, "check failed") {
		t.Fatalf("with the sandbox off the probe built (exit %d), want its check to fail:\n%s", off.code, off.stderr)
	}
	if on := run(t, bin, args...); on.code != 0 {
		t.Fatalf("the probe failed under this test's Nix settings, so builds here do not run sandboxed: exit %d\n%s", on.code, on.stderr)
	}
}

// TestExamplesSandboxed rebuilds every derivation nix-docker writes for
// each example (generated files with their checks such as httpd -t, the
// system path) in the sandbox with nix-store --check: a fresh run of each
// builder, even where the store already holds its output, that must also
// give the same bytes. The init's own derivation, the same for every
// example, is rebuilt once, by TestInitDerivation.
func TestExamplesSandboxed(t *testing.T) {
	t.Parallel()
	testutil.NeedNix(t)
	bin := nixDocker(t)
	apps, err := filepath.Glob(repo(t, "examples", "*", "app.hcl"))
	if err != nil || len(apps) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, app := range apps {
		name := filepath.Base(filepath.Dir(app))
		t.Run(name, func(t *testing.T) {
			expr := filepath.Join(t.TempDir(), "default.nix")
			if err := os.WriteFile(expr, []byte(must(t, bin, "nix", app)), 0o644); err != nil {
				t.Fatal(err)
			}
			drv := must(t, "nix-instantiate", "-I", nixpkgsArg(t), expr)
			ours := ownDerivations(t, drv)
			if len(ours) < 2 {
				t.Fatalf("found %d derivations built by nix-docker-init in %s, want the system path and its files", len(ours), drv)
			}
			must(t, "nix-store", append([]string{"--realise"}, ours...)...)
			r := run(t, "nix-store", append([]string{"--realise", "--check"}, ours...)...)
			if r.code != 0 {
				t.Fatalf("nix-store --realise --check (sandboxed rebuild of %d derivations): exit %d\n%s", len(ours), r.code, r.stderr)
			}
			t.Logf("%d derivations rebuilt in the sandbox", len(ours))
		})
	}
}

// ownDerivations lists the derivations in drv's closure whose builder is
// nix-docker's init: the ones nix-docker writes, not the package set's.
func ownDerivations(t *testing.T, drv string) []string {
	t.Helper()
	out := must(t, "nix", "--extra-experimental-features", "nix-command", "show-derivation", "-r", drv)
	var drvs map[string]struct{ Builder string }
	if err := json.Unmarshal([]byte(out), &drvs); err != nil {
		t.Fatalf("nix show-derivation: %v", err)
	}
	var ours []string
	for path, d := range drvs {
		if strings.HasSuffix(d.Builder, "-nix-docker-init") {
			ours = append(ours, path)
		}
	}
	sort.Strings(ours)
	return ours
}
