package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The hook passes every setting to nix-docker byte for byte, whatever
// the shell would make of it unquoted.
func TestScriptQuoting(t *testing.T) {
	dir := t.TempDir()
	// A stand-in for nix-docker that prints its arguments, one per line,
	// each ended by a NUL so that newlines inside show.
	bin := filepath.Join(dir, "it's $bin")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := Settings{
		File: "a b/$(touch pwned).hcl", Name: "shop", Branch: "main", Publish: "127.0.0.1",
		Ports:   []string{"18080:8080"},
		Env:     []string{"MSG=it's `date` $HOME \\n\nline two;", "EMPTY="},
		Include: []string{"nixpkgs=/srv/nix pkgs/'x'"},
		Timeout: 90 * time.Second,
	}
	script, err := Script(bin, "v1.0\n(x)", s)
	if err != nil {
		t.Fatal(err)
	}
	hook := filepath.Join(dir, "pre-receive")
	os.WriteFile(hook, []byte(script), 0o755)
	cmd := exec.Command(hook)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running the hook: %v\n%s", err, script)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	want := []string{"deploy", "receive", "--file", s.File, "--name", "shop", "--branch", "main", "--publish", "127.0.0.1",
		"--port", "18080:8080", "--env", s.Env[0], "--env", "EMPTY=", "-I", s.Include[0], "--timeout", "1m30s"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("the hook passed\n%q\nwant\n%q\nscript:\n%s", got, want, script)
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Error("the hook ran a command substitution from a setting")
	}
	if strings.Count(script, "\n#") != 5 || !strings.Contains(script, "of nix-docker v1.0 (x).") {
		t.Errorf("the version's newline broke out of its comment:\n%s", script)
	}
	if _, err := Script("nix-docker", "", Settings{}); err == nil {
		t.Error("Script with a relative binary path succeeded")
	}
	if _, err := Script(bin, "", Settings{Name: "Bad Name"}); err == nil {
		t.Error("Script with an invalid name succeeded")
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestInstall(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "shop.git")
	git(t, dir, "init", "-q", "--bare", "--initial-branch=trunk", repo)
	ctx := context.Background()
	in, err := Install(ctx, repo, "/usr/bin/nix-docker", "v1", Settings{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if in.Hook != filepath.Join(repo, "hooks", "pre-receive") || in.Branch != "trunk" || in.Repo != repo {
		t.Errorf("Install() = %+v", in)
	}
	st, err := os.Stat(in.Hook)
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("hook: %v, mode %v", err, st.Mode())
	}
	// Installing again replaces our own hook.
	if _, err := Install(ctx, repo, "/usr/bin/nix-docker", "v2", Settings{Branch: "main"}, false); err != nil {
		t.Errorf("reinstalling: %v", err)
	}
	if b, _ := os.ReadFile(in.Hook); !strings.Contains(string(b), "--branch 'main'") {
		t.Errorf("the hook was not replaced:\n%s", b)
	}
	// Someone else's hook is kept, unless forced.
	os.WriteFile(in.Hook, []byte("#!/bin/sh\necho mine\n"), 0o755)
	if _, err := Install(ctx, repo, "/usr/bin/nix-docker", "v1", Settings{}, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("Install over a foreign hook = %v, want a refusal naming --force", err)
	}
	if b, _ := os.ReadFile(in.Hook); string(b) != "#!/bin/sh\necho mine\n" {
		t.Errorf("the foreign hook changed:\n%s", b)
	}
	if _, err := Install(ctx, repo, "/usr/bin/nix-docker", "v1", Settings{}, true); err != nil {
		t.Errorf("Install --force: %v", err)
	}
	// A work tree is refused: a push to its checked-out branch fails.
	work := filepath.Join(dir, "work")
	git(t, dir, "init", "-q", work)
	if _, err := Install(ctx, work, "/usr/bin/nix-docker", "v1", Settings{}, false); err == nil || !strings.Contains(err.Error(), "not a bare repository") {
		t.Errorf("Install in a work tree = %v", err)
	}
	if _, err := Install(ctx, filepath.Join(dir, "none"), "/usr/bin/nix-docker", "v1", Settings{}, false); err == nil {
		t.Error("Install in a missing directory succeeded")
	}
}
