package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// NeedVagrant skips (or, in CI, fails) the test when the vagrant command
// is missing (scripts/setup installs Debian's).
func NeedVagrant(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("vagrant"); err != nil {
		missing(t, "vagrant is not installed")
	}
}

// NeedRoot skips (or, in CI, fails) the test when it does not run as
// root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "the test must run as root")
	}
}
