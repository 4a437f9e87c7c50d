package nixexpr_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/nixexpr"
	"github.com/nix-docker/nix-docker/internal/project"
	"github.com/nix-docker/nix-docker/schema"
)

var update = flag.Bool("update", false, "rewrite the golden .nix files")

// TestGolden pins the rendered expression of every example, with the
// default init (built by Nix from the carried source): a change in the
// output shows up as a diff to review, like code.
func TestGolden(t *testing.T) {
	examples, err := filepath.Glob("../../examples/*/app.hcl")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, file := range examples {
		name := filepath.Base(filepath.Dir(file))
		t.Run(name, func(t *testing.T) {
			p, diags := project.Load(schema.NewParser(), file)
			if diags.HasErrors() {
				t.Fatalf("Load(%s): %s", file, diags.Error())
			}
			got, err := nixexpr.Render(p, nixexpr.Options{InitSource: "/nix-docker-init-src", Source: "app.hcl"})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			// Absolute directories differ between machines.
			root, _ := filepath.Abs("../..")
			got = []byte(strings.ReplaceAll(strings.ReplaceAll(string(got), p.Dir, "/src"), root, "/repo"))
			golden := filepath.Join("testdata", name+".nix")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("Render(%s) differs from %s; run go test ./internal/nixexpr -update and review the diff.\ngot:\n%s", file, golden, got)
			}
		})
	}
}
