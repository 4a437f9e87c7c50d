package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestExamplesGallery keeps examples/README.md one row per example, each
// row's command building that example's file and publishing exactly the
// ports `nix-docker check` says it exposes.
func TestExamplesGallery(t *testing.T) {
	b, err := os.ReadFile(repo(t, "examples", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\| \[([\w-]+)\]\(([\w-]+)/\) \| [^|]+ \| (.+) \|$`).FindAllStringSubmatch(string(b), -1) {
		if m[1] != m[2] {
			t.Errorf("row %s links to %s/", m[1], m[2])
		}
		if _, dup := rows[m[1]]; dup {
			t.Errorf("examples/README.md lists %s twice", m[1])
		}
		rows[m[1]] = m[3]
	}
	dirs, _ := filepath.Glob(repo(t, "examples", "*", "app.hcl"))
	bin := nixDocker(t)
	for _, file := range dirs {
		name := filepath.Base(filepath.Dir(file))
		command, ok := rows[name]
		if !ok {
			t.Errorf("examples/README.md has no row for examples/%s", name)
			continue
		}
		delete(rows, name)
		if name == "webapp" {
			if !strings.Contains(command, "`scripts/demo`") {
				t.Errorf("webapp's row = %q, want scripts/demo", command)
			}
			continue
		}
		if !strings.Contains(command, "-t demo/"+name+" ") || !strings.Contains(command, " examples/"+name+"/app.hcl && docker run -d ") || !strings.HasSuffix(command, " demo/"+name+"`") {
			t.Errorf("%s's row does not build and run demo/%s from examples/%s/app.hcl: %s", name, name, name, command)
		}
		var published []int
		for _, m := range regexp.MustCompile(`-p 127\.0\.0\.1:(\d+):(\d+)`).FindAllStringSubmatch(command, -1) {
			if m[1] != m[2] {
				t.Errorf("%s's row publishes %s on %s: the Vagrantfile forwards the same numbers", name, m[2], m[1])
			}
			n, _ := strconv.Atoi(m[2])
			published = append(published, n)
		}
		slices.Sort(published)
		if exposed := checkPorts(t, bin, file); !slices.Equal(published, exposed) {
			t.Errorf("%s's row publishes %v, the app exposes %v", name, published, exposed)
		}
	}
	for name := range rows {
		t.Errorf("examples/README.md lists %s, which has no examples/%s/app.hcl", name, name)
	}
}
