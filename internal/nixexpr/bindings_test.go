package nixexpr_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/nixexpr"
	"github.com/nix-docker/nix-docker/internal/project"
	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/internal/testutil"
	"github.com/nix-docker/nix-docker/schema"
)

// TestNixBindingsReachNix: nix()'s bindings arrive in Nix as the values
// written in HCL (strings byte for byte), a path() as the store path of
// its copy, and another nix() as that expression's own value (a number
// here, not a string).
func TestNixBindingsReachNix(t *testing.T) {
	testutil.NeedNix(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "data", "f"), []byte("file content"), 0o644)
	src := `locals {
  inner = nix("40 + 1")
}
service "x" {
  command = nix(<<-EOT
    builtins.toFile "values.json" (builtins.toJSON {
      inherit s n f neg l m;
      inner = inner + 1;
      data = builtins.readFile (data + "/f");
    })
  EOT
  , {
    s     = "q\" $${x} '' \\ %%{y}"
    n     = 3
    f     = 1.5
    neg   = -2
    l     = [true, null, "a"]
    m     = { "key with space" = "v" }
    data  = path("data")
    inner = local.inner
  })
}
`
	file := filepath.Join(dir, "app.hcl")
	os.WriteFile(file, []byte(src), 0o644)
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
	// read-write: path() and toFile add to the store while evaluating.
	out, err := exec.Command("nix-instantiate", "--eval", "--read-write-mode", "--strict", "--json", "-E",
		"(import "+nixFile+" { pkgs = { }; }).drvAttrs.runspec").Output()
	if err != nil {
		t.Fatalf("nix-instantiate: %v\n%s", err, expr)
	}
	var specJSON string
	json.Unmarshal(out, &specJSON)
	var sp runspec.Spec
	if err := json.Unmarshal([]byte(specJSON), &sp); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sp.Services[0].Command)
	if err != nil {
		t.Fatalf("the command is not the file Nix wrote: %v", err)
	}
	want := `{"data":"file content","f":1.5,"inner":42,"l":[true,null,"a"],"m":{"key with space":"v"},"n":3,"neg":-2,"s":"q\" ${x} '' \\ %{y}"}`
	if strings.TrimSpace(string(b)) != want {
		t.Errorf("values in Nix:\n%s\nwant\n%s", b, want)
	}
}
