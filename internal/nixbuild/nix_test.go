package nixbuild

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

func TestParsePathInfo(t *testing.T) {
	old := `[{"path":"/nix/store/bbb-b","narSize":20,"references":["/nix/store/aaa-a","/nix/store/bbb-b"]},{"path":"/nix/store/aaa-a","narSize":10,"references":[]}]`
	modern := `{"/nix/store/bbb-b":{"narSize":20,"references":["aaa-a","bbb-b"]},"/nix/store/aaa-a":{"narSize":10,"references":[]}}`
	for name, in := range map[string]string{"list (Nix < 2.19)": old, "object (Nix >= 2.19)": modern} {
		t.Run(name, func(t *testing.T) {
			got, err := parsePathInfo([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].Path != "/nix/store/aaa-a" || got[1].Path != "/nix/store/bbb-b" {
				t.Fatalf("parsePathInfo = %+v, want a then b", got)
			}
			if got[1].NarSize != 20 || strings.Join(got[1].References, ",") != "/nix/store/aaa-a,/nix/store/bbb-b" {
				t.Errorf("b = %+v", got[1])
			}
		})
	}
	if _, err := parsePathInfo([]byte("nonsense")); err == nil {
		t.Error("parsePathInfo(nonsense) succeeded")
	}
}

// TestBuildAndClosure builds a two-path closure with the real Nix.
func TestBuildAndClosure(t *testing.T) {
	testutil.NeedNix(t)
	dir := t.TempDir()
	expr := filepath.Join(dir, "default.nix")
	busybox := "/usr/bin/busybox"
	testutil.NeedFile(t, busybox, "scripts/setup installs busybox-static")
	src := `let
  # busybox dispatches on its name, so it is reached as .../busybox.
  bb = builtins.path { path = /usr/bin; name = "busybox"; filter = p: t: baseNameOf p == "busybox"; };
  dep = builtins.toFile "dep" "a dependency";
in derivation {
  name = "nixbuild-test"; system = builtins.currentSystem; builder = "${bb}/busybox";
  args = [ "sh" "-c" "echo ${dep} > $out" ];
}
`
	if err := os.WriteFile(expr, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &Nix{}
	out, err := n.Build(context.Background(), expr, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "/nix/store/") || !strings.HasSuffix(out, "-nixbuild-test") {
		t.Fatalf("Build = %q", out)
	}
	closure, err := n.Closure(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if len(closure) != 2 {
		t.Fatalf("closure = %+v, want the output and its dependency (not the builder)", closure)
	}
	for _, p := range closure {
		if p.NarSize <= 0 {
			t.Errorf("%s: NarSize %d", p.Path, p.NarSize)
		}
	}

	bad := filepath.Join(dir, "bad.nix")
	os.WriteFile(bad, []byte(`derivation { name = "x"; system = builtins.currentSystem; builder = "/nonexistent"; }`), 0o644)
	if _, err := n.Build(context.Background(), bad, ""); err == nil || !strings.Contains(err.Error(), "nix-build failed") {
		t.Errorf("Build(bad) = %v, want a nix-build failure", err)
	}
}
