package nixexpr_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nix-docker/nix-docker/internal/nixexpr"
	"github.com/nix-docker/nix-docker/internal/project"
	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/internal/testutil"
	"github.com/nix-docker/nix-docker/schema"
)

// TestLiteralsReachNix writes tricky literals in HCL, renders the
// expression and asks the real Nix what the runspec holds: every value
// must arrive byte for byte.
func TestLiteralsReachNix(t *testing.T) {
	testutil.NeedNix(t)
	dir := t.TempDir()
	src := `service "x" {
  command = "/bin/echo $${HOME} '' \\\\ \"q\" %%{x}"
  environment = {
    D = "'' \\ \" unbalanced"
    A = "$${not interpolated}"
    B = "back\\slash \"quoted\" ''two'' tab\t nl\n cr\r unicode é 🚀 %%{directive} $$ $"
    C = "${"\u0001\u001f"}"
  }
}
`
	want := map[string]string{
		"command": "/bin/echo ${HOME} '' \\\\ \"q\" %{x}",
		"D":       "'' \\ \" unbalanced",
		"A":       "${not interpolated}",
		"B":       "back\\slash \"quoted\" ''two'' tab\t nl\n cr\r unicode é 🚀 %{directive} $$ $",
		"C":       "\x01\x1f",
	}
	file := filepath.Join(dir, "app.hcl")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, diags := project.Load(schema.NewParser(), file)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	expr, err := nixexpr.Render(p, nixexpr.Options{InitPath: "/nonexistent-init", Source: "app.hcl"})
	if err != nil {
		t.Fatal(err)
	}
	nixFile := filepath.Join(dir, "default.nix")
	os.WriteFile(nixFile, expr, 0o644)
	out, err := exec.Command("nix-instantiate", "--eval", "--read-write-mode", "--strict", "--json", "-E",
		"(import "+nixFile+" { pkgs = { }; }).drvAttrs.runspec").Output()
	if err != nil {
		t.Fatalf("nix-instantiate: %v", err)
	}
	var specJSON string
	if err := json.Unmarshal(out, &specJSON); err != nil {
		t.Fatal(err)
	}
	var sp runspec.Spec
	if err := json.Unmarshal([]byte(specJSON), &sp); err != nil {
		t.Fatalf("runspec in Nix is not JSON: %v\n%s", err, specJSON)
	}
	s := sp.Services[0]
	if s.Command != want["command"] {
		t.Errorf("command in Nix = %q, want %q", s.Command, want["command"])
	}
	for _, k := range []string{"A", "B", "C", "D"} {
		if s.Environment[k] != want[k] {
			t.Errorf("environment %s in Nix = %q, want %q", k, s.Environment[k], want[k])
		}
	}
}
