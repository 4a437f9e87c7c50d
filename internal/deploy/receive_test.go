package deploy

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadUpdates(t *testing.T) {
	in := "0000000000000000000000000000000000000000 1111111111111111111111111111111111111111 refs/heads/main\n" +
		"1111111111111111111111111111111111111111 0000000000000000000000000000000000000000 refs/tags/v1\n"
	got, err := ReadUpdates(strings.NewReader(in))
	if err != nil || len(got) != 2 || got[0].Ref != "refs/heads/main" || deletes(got[0]) || !deletes(got[1]) {
		t.Errorf("ReadUpdates() = %+v, %v", got, err)
	}
	for _, bad := range []string{"x y z\n", "0000000000000000000000000000000000000000 1111111111111111111111111111111111111111\n"} {
		if _, err := ReadUpdates(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadUpdates(%q) succeeded", bad)
		}
	}
}

// Pushes to other refs pass without touching the engine; deleting the
// deploy branch is refused.
func TestReceiveOtherRefs(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "shop.git")
	git(t, dir, "init", "-q", "--bare", "--initial-branch=main", repo)
	f := newFake()
	var log strings.Builder
	in := "0000000000000000000000000000000000000000 1111111111111111111111111111111111111111 refs/heads/feature\n"
	if err := Receive(context.Background(), strings.NewReader(in), Options{GitDir: repo, Engine: f, Log: &log}); err != nil {
		t.Fatalf("Receive(feature) = %v", err)
	}
	if len(f.calls) != 0 || !strings.Contains(log.String(), "refs/heads/feature is not the deploy branch (main)") {
		t.Errorf("calls %q, log %q", f.calls, log.String())
	}
	del := "1111111111111111111111111111111111111111 0000000000000000000000000000000000000000 refs/heads/main\n"
	if err := Receive(context.Background(), strings.NewReader(del), Options{GitDir: repo, Engine: f, Log: &log}); err == nil || !strings.Contains(err.Error(), "deleting main") {
		t.Errorf("Receive(delete main) = %v", err)
	}
	git(t, repo, "config", "nix-docker.name", "Not Valid")
	if err := Receive(context.Background(), strings.NewReader(in), Options{GitDir: repo, Engine: f, Log: &log}); err == nil || !strings.Contains(err.Error(), `name "Not Valid"`) {
		t.Errorf("Receive with a bad git config name = %v", err)
	}
}
