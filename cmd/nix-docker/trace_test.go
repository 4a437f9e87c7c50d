package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTracer: NIX_DOCKER_TRACE set gives one line per step on stderr,
// when it started and how long it took; unset or "0", no trace.
func TestTracer(t *testing.T) {
	for _, v := range []string{"", "0"} {
		t.Setenv("NIX_DOCKER_TRACE", v)
		if tracer(&bytes.Buffer{}) != nil {
			t.Errorf("NIX_DOCKER_TRACE=%q: a tracer, want none", v)
		}
	}
	t.Setenv("NIX_DOCKER_TRACE", "1")
	var buf bytes.Buffer
	trace := tracer(&buf)
	if trace == nil {
		t.Fatal("NIX_DOCKER_TRACE=1: no tracer")
	}
	trace("nix-build", 1500*time.Millisecond)
	if !regexp.MustCompile(`^trace: +-?\d+\.\d{3}s +1500\.0ms  nix-build\n$`).MatchString(buf.String()) {
		t.Errorf("trace line %q, want the start, 1500.0ms and the step", buf.String())
	}
}

// TestEngineBeforeNix: the engine is asked what it is beside the reading
// of the app file, and an engine that does not answer stops the build
// before Nix runs (a nix-build first on PATH records whether it ran).
func TestEngineBeforeNix(t *testing.T) {
	dir := t.TempDir()
	ran := filepath.Join(dir, "nix-build-ran")
	script := "#!/bin/sh\ntouch " + ran + "\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "nix-build"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(dir, "no-engine.sock"))
	app := filepath.Join(dir, "app.hcl")
	if err := os.WriteFile(app, []byte("service \"x\" {\n  command = \"/bin/true\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := runCLI(t, "-b", "-t", "x/y", app)
	if code != 1 || !strings.Contains(errs, "asking the engine") {
		t.Errorf("build with no engine: exit %d, stderr %q; want 1 and the engine's error", code, errs)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("nix-build ran although the engine did not answer")
	}
	// A bad app file is reported as such, engine or not.
	if err := os.WriteFile(app, []byte("service \"x\" {\n  command = 42\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := runCLI(t, "-b", "-t", "x/y", app); code != 1 || !strings.Contains(errs, "Incorrect value type") {
		t.Errorf("bad app file with no engine: exit %d, stderr %q; want 1 and the file's error", code, errs)
	}
}
