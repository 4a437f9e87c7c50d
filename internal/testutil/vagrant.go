package testutil

import (
	"os/exec"
	"testing"
)

// NeedVagrant skips (or, in CI, fails) the test when the vagrant command
// is missing (scripts/setup installs Debian's).
func NeedVagrant(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("vagrant"); err != nil {
		Missing(t, "vagrant is not installed")
	}
}
