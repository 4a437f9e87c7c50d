package e2e

import (
	"debug/elf"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// TestInitDerivation builds the init the way every build without --init
// gets it: Nix compiles the source nix-docker carries with the package
// set's go, in the sandbox (TestMain turns it on). The derivation is
// offline and static as asked, its output references nothing (the Go
// toolchain is a disallowed reference and is not in the closure), and a
// second, checking build gives the same bytes.
func TestInitDerivation(t *testing.T) {
	t.Parallel()
	testutil.NeedNix(t)
	bin := nixDocker(t)
	expr := filepath.Join(t.TempDir(), "default.nix")
	if err := os.WriteFile(expr, []byte(must(t, bin, "nix", repo(t, "examples", "webapp", "app.hcl"))), 0o644); err != nil {
		t.Fatal(err)
	}
	drv := must(t, "nix-instantiate", "-I", nixpkgsArg(t), expr)
	var initDrv string
	for _, d := range strings.Fields(must(t, "nix-store", "--query", "--requisites", drv)) {
		if strings.HasSuffix(d, "-nix-docker-init.drv") {
			if initDrv != "" {
				t.Fatalf("two init derivations in %s: %s, %s", drv, initDrv, d)
			}
			initDrv = d
		}
	}
	if initDrv == "" {
		t.Fatalf("no nix-docker-init derivation in %s's closure", drv)
	}

	var show map[string]struct {
		Env map[string]string `json:"env"`
	}
	if err := json.Unmarshal([]byte(must(t, "nix", "--extra-experimental-features", "nix-command", "show-derivation", initDrv)), &show); err != nil {
		t.Fatal(err)
	}
	env := show[initDrv].Env
	goOut := strings.Trim(must(t, "nix-instantiate", "--eval", "-I", nixpkgsArg(t), "-E", "(import <nixpkgs> { }).go.outPath"), `"`)
	for k, want := range map[string]string{
		"CGO_ENABLED": "0", "GOPROXY": "off", "GOSUMDB": "off", "GOTOOLCHAIN": "local",
		"GOFLAGS": "-mod=readonly", "disallowedReferences": goOut,
	} {
		if env[k] != want {
			t.Errorf("the init's derivation has %s = %q, want %q", k, env[k], want)
		}
	}

	out := must(t, "nix-store", "--realise", initDrv)
	if closure := strings.Fields(must(t, "nix-store", "--query", "--requisites", out)); len(closure) != 1 || closure[0] != out {
		t.Errorf("the init's closure is %v, want the init alone (no Go toolchain, nothing else)", closure)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the init %s is dynamically linked (%v)", out, p.Type)
		}
	}
	if r := run(t, "nix-store", "--realise", "--check", initDrv); r.code != 0 {
		t.Fatalf("nix-store --realise --check %s (a second sandboxed build, compared byte for byte): exit %d\n%s", initDrv, r.code, r.stderr)
	}
	st, _ := os.Stat(out)
	t.Logf("init %s: %d bytes, static, rebuilt with the same bytes", out, st.Size())
}
