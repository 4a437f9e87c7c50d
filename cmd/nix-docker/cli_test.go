package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

func TestVersion(t *testing.T) {
	out, errs, code := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "nix-docker ") || !strings.Contains(out, "commit ") || errs != "" {
		t.Errorf("version = %d %q %q", code, out, errs)
	}
	for _, flag := range []string{"--version", "-version"} {
		if o, _, c := runCLI(t, flag); c != 0 || o != out {
			t.Errorf("%s = %d %q, want %q like version", flag, c, o, out)
		}
	}
	if _, _, code := runCLI(t, "version", "extra"); code != 2 {
		t.Errorf("version extra = %d, want 2", code)
	}
}

// A binary built in a git checkout knows its commit, and whether the
// work tree had changes.
func TestVersionFromCheckout(t *testing.T) {
	testutil.NeedCommand(t, "git")
	// A repository holding the work tree as it is now, committed.
	root := testutil.RepoRoot(t)
	clone := filepath.Join(t.TempDir(), "src")
	files, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimSuffix(string(files), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue // deleted in the work tree
		}
		os.MkdirAll(filepath.Dir(filepath.Join(clone, f)), 0o755)
		if err := os.WriteFile(filepath.Join(clone, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "snapshot"}} {
		if out, err := exec.Command("git", append([]string{"-C", clone}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", args, err, out)
		}
	}
	head, err := exec.Command("git", "-C", clone, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	version := func() string {
		bin := filepath.Join(t.TempDir(), "nix-docker")
		// -buildvcs=true: Go's default (auto) may be turned off by GOFLAGS.
		build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/nix-docker")
		build.Dir = clone
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err := exec.Command(bin, "version").Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	clean := version()
	if !strings.Contains(clean, "commit "+strings.TrimSpace(string(head))) || strings.Contains(clean, "uncommitted") {
		t.Errorf("version in a clean checkout of %s = %q", head, clean)
	}
	if err := os.WriteFile(filepath.Join(clone, "README.md"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if dirty := version(); !strings.Contains(dirty, "with uncommitted changes") {
		t.Errorf("version in a changed checkout = %q", dirty)
	}
}

// Every command answers -h with its usage on stderr and exit 0.
func TestHelp(t *testing.T) {
	for name := range commands {
		t.Run(name, func(t *testing.T) {
			for _, h := range []string{"-h", "--help"} {
				out, errs, code := runCLI(t, name, h)
				if code != 0 || out != "" || !strings.HasPrefix(errs, "usage:") || !strings.Contains(errs, "nix-docker "+name) {
					t.Errorf("%s %s = %d, stdout %q, stderr %q; want 0 and the usage on stderr", name, h, code, out, errs)
				}
			}
		})
	}
	if out, errs, code := runCLI(t, "-h"); code != 0 || out != "" || !strings.HasPrefix(errs, "usage:") || !strings.Contains(errs, "-max-layers") {
		t.Errorf("-h = %d %q %q", code, out, errs)
	}
	if out, _, code := runCLI(t, "help"); code != 0 || !strings.Contains(out, "nix-docker deploy") {
		t.Errorf("help = %d %q", code, out)
	}
	if _, errs, code := runCLI(t, "deploy", "receive", "-h"); code != 0 || !strings.Contains(errs, "nix-docker deploy receive") {
		t.Errorf("deploy receive -h = %d %q", code, errs)
	}
}

func TestUnknownCommand(t *testing.T) {
	for word, want := range map[string]string{
		"versoin": `did you mean "version"?`,
		"chekc":   `did you mean "check"?`,
		"deploi":  `did you mean "deploy"?`,
		"opt":     `did you mean "options"?`,
		"xyzzy":   `unknown command "xyzzy", and no file by that name`,
	} {
		out, errs, code := runCLI(t, word)
		if code != 2 || out != "" || !strings.Contains(errs, want) || strings.Contains(errs, "Cannot read") {
			t.Errorf("%s = %d, stderr %q; want 2 and %q", word, code, errs, want)
		}
	}
	if _, errs, _ := runCLI(t, "xyzzy"); strings.Contains(errs, "did you mean") {
		t.Errorf("xyzzy got a suggestion: %q", errs)
	}
	// A path, or a word naming a file, goes to the build, which reports it.
	for _, arg := range []string{"missing.hcl", "dir/missing"} {
		if _, errs, code := runCLI(t, arg); code == 0 || strings.Contains(errs, "unknown command") {
			t.Errorf("%s = %d %q, want the build's error", arg, code, errs)
		}
	}
	t.Chdir(t.TempDir())
	os.WriteFile("versoin", []byte("service \"x\" {\n"), 0o644)
	if _, errs, _ := runCLI(t, "versoin"); strings.Contains(errs, "unknown command") {
		t.Errorf("a file named versoin was taken for a command: %q", errs)
	}
}

func TestDeployCommand(t *testing.T) {
	out, errs, code := runCLI(t, "deploy", "--file", "web/app.hcl", "--port", "18080:8080")
	if code != 0 || !strings.HasPrefix(out, "#!/bin/sh\n") || !strings.Contains(out, " deploy receive \\\n  --file 'web/app.hcl' \\\n  --port '18080:8080'\n") {
		t.Errorf("deploy = %d %q %q", code, out, errs)
	}
	if _, errs, code := runCLI(t, "deploy", "--name", "Bad Name"); code != 2 || !strings.Contains(errs, `name "Bad Name"`) {
		t.Errorf("deploy --name 'Bad Name' = %d %q", code, errs)
	}
	if _, _, code := runCLI(t, "deploy", "extra"); code != 2 {
		t.Errorf("deploy extra = %d, want 2", code)
	}
	repo := filepath.Join(t.TempDir(), "shop.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", "--initial-branch=main", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	_, errs, code = runCLI(t, "deploy", "--install", repo)
	if code != 0 || !strings.Contains(errs, "git push deploy HEAD:main") {
		t.Errorf("deploy --install = %d %q", code, errs)
	}
	if st, err := os.Stat(filepath.Join(repo, "hooks", "pre-receive")); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("no executable hook: %v", err)
	}
}
