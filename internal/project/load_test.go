package project_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/project"
	"github.com/nix-docker/nix-docker/schema"
)

var errorMarker = regexp.MustCompile(`#\s*ERROR:\s*(.+)$`)

// TestInvalid loads every file under testdata/invalid: each line marked
// `# ERROR: <summary>` must get exactly one error with that summary, at
// that line, and no other error may appear. A case that uses a module of
// its own keeps it in testdata/invalid/modules/ under the same name, with
// its markers.
func TestInvalid(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.hcl")
	if len(files) < 50 {
		t.Fatalf("%d invalid cases, want at least 50", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want := markers(t, file)
			if _, err := os.Stat(filepath.Join("testdata/invalid/modules", filepath.Base(file))); err == nil {
				want = append(want, markers(t, filepath.Join("testdata/invalid/modules", filepath.Base(file)))...)
				sort.Strings(want)
			}
			if len(want) == 0 {
				t.Fatalf("%s has no # ERROR: marker", file)
			}
			p, diags := project.Load(schema.NewParser(), file)
			if p != nil {
				t.Errorf("Load returned a project despite errors")
			}
			var got []string
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic %q has no source range", d.Summary)
					continue
				}
				if d.Detail == "" {
					t.Errorf("diagnostic %q has no detail", d.Summary)
				}
				got = append(got, lineKey(filepath.Base(d.Subject.Filename), d.Subject.Start.Line, d.Summary))
			}
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("Load(%s) diagnostics:\n%s\nwant:\n%s\n(all: %s)", file, strings.Join(got, "\n"), strings.Join(want, "\n"), diags.Error())
			}
		})
	}
}

// TestValid loads the valid files and every example without diagnostics.
func TestValid(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.hcl")
	examples, _ := filepath.Glob("../../examples/*/app.hcl")
	files = append(files, examples...)
	if len(examples) == 0 {
		t.Fatal("no examples")
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			_, diags := project.Load(schema.NewParser(), file)
			if len(diags) != 0 {
				t.Errorf("Load(%s): %s", file, diags.Error())
			}
		})
	}
}

// TestModuleInstances checks that two instances of one module get their
// own names, files and ports.
func TestModuleInstances(t *testing.T) {
	p, diags := project.Load(schema.NewParser(), "testdata/valid/two-redis.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var names []string
	for _, s := range p.Services {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "app,cache,sessions" {
		t.Errorf("services = %s, want app,cache,sessions", got)
	}
	var keys []string
	for _, f := range p.Files {
		keys = append(keys, f.Key)
	}
	if got := strings.Join(keys, ","); got != "cache-conf,sessions-conf" {
		t.Errorf("files = %s, want cache-conf,sessions-conf", got)
	}
	if len(p.Ports) != 2 || p.Ports[0] != 6380 || p.Ports[1] != 6381 {
		t.Errorf("ports = %v, want [6380 6381]", p.Ports)
	}
	for _, want := range []string{"port 6380", "port 6381", "dir /var/lib/sessions"} {
		found := false
		for _, f := range p.Files {
			found = found || strings.Contains(f.Text, want+"\n")
		}
		if !found {
			t.Errorf("no generated file holds %q", want)
		}
	}
	cache := p.Service("cache")
	if cache == nil || !strings.Contains(cache.Command, "/bin/redis-server ") {
		t.Fatalf("service cache = %+v", cache)
	}
	parts := p.Split(cache.Command)
	if len(parts) != 3 || parts[0].Ref == nil || parts[0].Ref.String() != "pkgs.redis" || parts[2].Ref == nil || parts[2].Ref.String() != "file.cache-conf" {
		t.Errorf("Split(cache command) = %+v, want pkgs.redis, a literal, file.cache-conf", parts)
	}
}

func markers(t *testing.T, file string) []string {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if m := errorMarker.FindStringSubmatch(sc.Text()); m != nil {
			out = append(out, lineKey(filepath.Base(file), n, strings.TrimSpace(m[1])))
		}
	}
	sort.Strings(out)
	return out
}

func lineKey(file string, line int, summary string) string {
	return fmt.Sprintf("%s:%04d: %s", file, line, summary)
}

// TestSecretWarning: a secret-looking value in environment loads, with a
// warning at the value that says how to pass it at run time.
func TestSecretWarning(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "app.hcl")
	os.WriteFile(file, []byte("service \"x\" {\n  command = \"/bin/true\"\n  environment = {\n    DB_PASSWORD = \"hunter2\"\n    PORT = \"80\"\n  }\n}\n"), 0o644)
	p, diags := project.Load(schema.NewParser(), file)
	if diags.HasErrors() || p == nil {
		t.Fatalf("Load: %s", diags.Error())
	}
	if len(p.Warnings) != 1 {
		t.Fatalf("warnings = %v, want one", p.Warnings)
	}
	w := p.Warnings[0]
	if w.Summary != "Secret in the image" || w.Subject.Start.Line != 4 || !strings.Contains(w.Detail, "docker run -e DB_PASSWORD=") {
		t.Errorf("warning = %q at line %d: %s", w.Summary, w.Subject.Start.Line, w.Detail)
	}
}

// TestRestartOptions: the init's restart options reach the runspec.
func TestRestartOptions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "app.hcl")
	os.WriteFile(file, []byte(`service "x" {
  command               = "/bin/true"
  leavechildren         = true
  restartsec            = 0.5
  startlimitburst       = 3
  startlimitintervalsec = 20
  maxbackoffsecs        = 30
}
`), 0o644)
	p, diags := project.Load(schema.NewParser(), file)
	if diags.HasErrors() || p == nil {
		t.Fatalf("Load: %s", diags.Error())
	}
	s := p.Spec().Services[0]
	if !s.LeaveChildren || s.RestartSec == nil || *s.RestartSec != 0.5 || s.StartLimitBurst == nil || *s.StartLimitBurst != 3 ||
		s.StartLimitIntervalSec == nil || *s.StartLimitIntervalSec != 20 || s.MaxBackoffSecs == nil || *s.MaxBackoffSecs != 30 {
		t.Errorf("service = %+v", s)
	}
}

// TestStopChainWarning: services whose stopwaitsecs add up, along the
// stop order, past docker stop's 10 s give a warning naming the chain;
// independent services, stopped at once, do not add up.
func TestStopChainWarning(t *testing.T) {
	for _, c := range []struct {
		name, hcl string
		warn      string
	}{
		{"chain", `service "db" {
  command      = "/bin/db"
  stopwaitsecs = 6
}
service "app" {
  command      = "/bin/app"
  stopwaitsecs = 6
  after        = ["db"]
}
`, "Stopping app, then db one after another may take up to 12 s"},
		{"parallel", `service "a" {
  command      = "/bin/a"
  stopwaitsecs = 6
}
service "b" {
  command      = "/bin/b"
  stopwaitsecs = 6
}
`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "app.hcl")
			os.WriteFile(file, []byte(c.hcl), 0o644)
			p, diags := project.Load(schema.NewParser(), file)
			if diags.HasErrors() || p == nil {
				t.Fatalf("Load: %s", diags.Error())
			}
			if c.warn == "" {
				if len(p.Warnings) != 0 {
					t.Errorf("warnings = %v, want none", p.Warnings)
				}
				return
			}
			if len(p.Warnings) != 1 || p.Warnings[0].Summary != "Stop may outlast docker stop" || !strings.Contains(p.Warnings[0].Detail, c.warn) {
				t.Fatalf("warnings = %v, want one containing %q", p.Warnings, c.warn)
			}
			if p.Warnings[0].Subject == nil || p.Warnings[0].Subject.Start.Line != 5 {
				t.Errorf("warning at %v, want line 5 (service app)", p.Warnings[0].Subject)
			}
		})
	}
}
