package testutil

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// RequireIntegration tells whether missing tools fail tests instead of
// skipping them.
func RequireIntegration() bool { return os.Getenv("NIX_DOCKER_REQUIRE_INTEGRATION") == "1" }

// Missing is the one way a test skips: it skips the test, except under
// NIX_DOCKER_REQUIRE_INTEGRATION=1 (scripts/test, CI), where it fails it.
// The Need helpers call it; a test with a requirement of its own calls it
// directly, never t.Skip.
func Missing(t testing.TB, why string) {
	t.Helper()
	if RequireIntegration() {
		t.Fatalf("%s (NIX_DOCKER_REQUIRE_INTEGRATION=1: integration tests must run here; run scripts/setup)", why)
	}
	t.Skip(why)
}

// NeedNix skips (or, in CI, fails) the test when Nix is not usable.
func NeedNix(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("nix-build"); err != nil {
		Missing(t, "nix-build is not installed")
		return
	}
	if err := exec.Command("nix-store", "--version").Run(); err != nil {
		Missing(t, "nix-store does not run: "+err.Error())
	}
}

// NeedDocker skips (or, in CI, fails) the test when no Docker engine
// answers.
func NeedDocker(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		Missing(t, "the docker CLI is not installed")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		Missing(t, "no Docker engine answers: "+string(out))
	}
}

// NeedRegistry skips (or, in CI, fails) the test when Debian's
// docker-registry (the CNCF distribution registry) is not installed.
func NeedRegistry(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("docker-registry"); err != nil {
		Missing(t, "docker-registry (the distribution registry) is not installed")
	}
}

// RepoRoot returns the repository's root directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// BuildNixDocker builds nix-docker into dir, the way scripts/setup does,
// and returns its path. Nothing is built beside it: it has Nix build the
// init from the source it carries.
func BuildNixDocker(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "nix-docker")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/nix-docker")
	cmd.Dir = RepoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/nix-docker: %v\n%s", err, b)
	}
	return out
}

// NeedCommand skips (or, in CI, fails) the test when a program is not on
// PATH; scripts/setup installs the ones the tests use.
func NeedCommand(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			Missing(t, name+" is not installed (scripts/setup installs it)")
			return
		}
	}
}

// NeedFile skips (or, in CI, fails) the test when path does not exist;
// install says how to get it.
func NeedFile(t testing.TB, path, install string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, path+" is missing ("+install+")")
	}
}

// NeedRoot skips (or, in CI, which runs as root, fails) a test that
// needs root: device nodes, other users' files.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "the test needs root")
	}
}
