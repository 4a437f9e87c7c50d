package deploy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// hookMarker is in every hook Script writes; Install replaces only hooks
// that carry it (or any, when forced).
const hookMarker = "written by `nix-docker deploy`"

// Script returns a pre-receive hook that runs `BINARY deploy receive`
// with the settings that are set; the others are read from git config
// when a push arrives. version goes into a comment.
func Script(binary, version string, s Settings) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	if !filepath.IsAbs(binary) || hasControl(binary) {
		return "", fmt.Errorf("the hook needs nix-docker's absolute path, not %q", binary)
	}
	lines := []string{shellQuote(binary) + " deploy receive"}
	flag := func(name, value string) {
		if value != "" {
			lines = append(lines, name+" "+shellQuote(value))
		}
	}
	flag("--file", s.File)
	flag("--name", s.Name)
	flag("--branch", s.Branch)
	flag("--publish", s.Publish)
	for _, p := range s.Ports {
		flag("--port", p)
	}
	for _, e := range s.Env {
		flag("--env", e)
	}
	for _, i := range s.Include {
		flag("-I", i)
	}
	if s.Timeout > 0 {
		flag("--timeout", s.Timeout.String())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n")
	fmt.Fprintf(&b, "# pre-receive hook %s of nix-docker %s.\n", hookMarker, oneLine(version))
	fmt.Fprintf(&b, "# A push to the deploy branch builds the app file and replaces the running\n")
	fmt.Fprintf(&b, "# container once the new one is healthy; a failure rejects the push and the\n")
	fmt.Fprintf(&b, "# running version keeps serving. Settings not given below are read from\n")
	fmt.Fprintf(&b, "# `git config nix-docker.<setting>` in this repository (docs/deploy.md).\n")
	fmt.Fprintf(&b, "exec %s\n", strings.Join(lines, " \\\n  "))
	return b.String(), nil
}

// shellQuote quotes s for a POSIX shell: in single quotes, where a
// single quote inside is written by closing, escaping and reopening.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// Installed says where Install put the hook and which branch deploys.
type Installed struct {
	Hook   string // the hook's path
	Repo   string // the repository's absolute path
	Branch string // the deploy branch, as it resolves now
}

// Install writes the hook Script made from s as repo's pre-receive hook.
// repo must be a bare repository. An existing hook that nix-docker did
// not write is kept unless force is set.
func Install(ctx context.Context, repo, binary, version string, s Settings, force bool) (Installed, error) {
	script, err := Script(binary, version, s)
	if err != nil {
		return Installed{}, err
	}
	hook, err := install(ctx, repo, script, force)
	if err != nil {
		return Installed{}, err
	}
	in := Installed{Hook: hook, Branch: s.Branch}
	in.Repo, _ = gitOutput(ctx, repo, "rev-parse", "--absolute-git-dir")
	if in.Branch == "" {
		in.Branch, _ = gitOutput(ctx, repo, "config", "--get", "nix-docker.branch")
	}
	if in.Branch == "" {
		in.Branch, _ = gitOutput(ctx, repo, "symbolic-ref", "--short", "HEAD")
	}
	return in, nil
}

func install(ctx context.Context, repo, script string, force bool) (string, error) {
	out, err := gitOutput(ctx, repo, "rev-parse", "--is-bare-repository")
	if err != nil {
		return "", fmt.Errorf("%s is not a git repository: %w", repo, err)
	}
	if out != "true" {
		return "", fmt.Errorf("%s is not a bare repository: a push to a checked-out branch would be refused; create one with git init --bare", repo)
	}
	hooks, err := gitOutput(ctx, repo, "rev-parse", "--git-path", "hooks")
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(hooks) {
		hooks = filepath.Join(repo, hooks)
	}
	hook := filepath.Join(hooks, "pre-receive")
	if old, err := os.ReadFile(hook); err == nil && !force && !bytes.Contains(old, []byte(hookMarker)) {
		return "", fmt.Errorf("%s exists and nix-docker did not write it: move it away, or pass --force to replace it", hook)
	}
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(hooks, ".pre-receive.tmp-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(script); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return hook, os.Rename(tmp.Name(), hook)
}

// gitOutput runs git in dir and returns its trimmed standard output; its
// standard error goes into the error.
func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
