package machine

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// runScript runs one of this package's scripts as root in a private mount
// namespace and fails the test unless it passes; its report is logged.
func runScript(t *testing.T, script string, env ...string) {
	t.Helper()
	testutil.NeedRoot(t)
	testutil.NeedCommand(t, "unshare")
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "bash", filepath.Join(testutil.RepoRoot(t), "test", "machine", script))
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("%s:\n%s", script, out.String())
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	if !strings.HasSuffix(strings.TrimSpace(out.String()), "PASS") {
		t.Fatalf("%s exited 0 without its PASS line", script)
	}
}

// TestFreshSetup: scripts/setup, run where only the Debian packages are
// installed (no nix.conf, no build users), sets Nix up so that a new
// derivation and a changed webapp build with the sandbox on, as a build
// user; run again, it changes nothing.
func TestFreshSetup(t *testing.T) {
	runScript(t, "fresh.sh")
}

// TestDaemon: with a nix-daemon that lets only nix-users in, a non-root user
// in nix-users and docker builds the webapp through the daemon (as a build
// user, sandboxed), loads it into the Docker engine and runs it; a user
// outside nix-users is refused.
func TestDaemon(t *testing.T) {
	runScript(t, "daemon.sh")
}
