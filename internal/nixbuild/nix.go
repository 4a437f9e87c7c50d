package nixbuild

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// PathInfo is one store path of a closure.
type PathInfo struct {
	Path       string
	NarSize    int64
	References []string
}

// Nix runs the nix command-line tools.
type Nix struct {
	// Include are -I entries, such as "nixpkgs=/path".
	Include []string
	// Log receives Nix's build output; nil discards it.
	Log io.Writer
}

// ErrNotInstalled is returned when nix-build is not on PATH.
var ErrNotInstalled = errors.New("nix is not installed (nix-build not found on PATH); run scripts/setup or install Nix")

// Build realises the expression in file and returns its output path. The
// result is registered as a GC root at outLink when outLink is not "".
func (n *Nix) Build(ctx context.Context, file, outLink string) (string, error) {
	if _, err := exec.LookPath("nix-build"); err != nil {
		return "", ErrNotInstalled
	}
	args := []string{file}
	if outLink == "" {
		args = append(args, "--no-out-link")
	} else {
		args = append(args, "--out-link", outLink)
	}
	for _, i := range n.Include {
		args = append(args, "-I", i)
	}
	cmd := exec.CommandContext(ctx, "nix-build", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if n.Log != nil {
		cmd.Stderr = io.MultiWriter(&stderr, n.Log)
	}
	if err := cmd.Run(); err != nil {
		return "", &BuildError{Output: stderr.String(), Err: err}
	}
	lines := strings.Fields(stdout.String())
	if len(lines) == 0 {
		return "", fmt.Errorf("nix-build printed no store path")
	}
	return lines[len(lines)-1], nil
}

// BuildError is a failed nix-build, with what Nix said.
type BuildError struct {
	Output string
	Err    error
}

func (e *BuildError) Error() string {
	out := strings.TrimSpace(e.Output)
	if i := strings.LastIndex(out, "error:"); i >= 0 {
		out = out[i:]
	}
	return fmt.Sprintf("nix-build failed (%v): %s", e.Err, out)
}

func (e *BuildError) Unwrap() error { return e.Err }

// Closure returns every store path path depends on, path included,
// sorted by path.
func (n *Nix) Closure(ctx context.Context, path string) ([]PathInfo, error) {
	cmd := exec.CommandContext(ctx, "nix", "--extra-experimental-features", "nix-command", "path-info", "--json", "--recursive", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("nix path-info %s: %v: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	return parsePathInfo(stdout.Bytes())
}

type pathInfoJSON struct {
	Path       string   `json:"path"`
	NarSize    int64    `json:"narSize"`
	References []string `json:"references"`
}

// parsePathInfo reads `nix path-info --json` output: a list in Nix before
// 2.19, an object keyed by path since.
func parsePathInfo(b []byte) ([]PathInfo, error) {
	var list []pathInfoJSON
	if err := json.Unmarshal(b, &list); err != nil {
		var obj map[string]pathInfoJSON
		if err2 := json.Unmarshal(b, &obj); err2 != nil {
			return nil, fmt.Errorf("reading nix path-info output: %w", err)
		}
		for p, info := range obj {
			info.Path = p
			list = append(list, info)
		}
	}
	out := make([]PathInfo, 0, len(list))
	for _, i := range list {
		refs := make([]string, 0, len(i.References))
		for _, r := range i.References {
			if !strings.HasPrefix(r, "/") {
				r = "/nix/store/" + r
			}
			refs = append(refs, r)
		}
		sort.Strings(refs)
		out = append(out, PathInfo{Path: i.Path, NarSize: i.NarSize, References: refs})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	return out, nil
}

// Shell runs nix-shell on the expression in file, on the terminal given
// by stdin, stdout and stderr: interactive, or running command when it is
// not "". It returns the shell's exit code; err is for failing to start
// it. While it runs, SIGINT and SIGQUIT are left to the shell (the
// terminal sends them to it too) and SIGTERM and SIGHUP are passed on.
func (n *Nix) Shell(file, command string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if _, err := exec.LookPath("nix-shell"); err != nil {
		return 0, ErrNotInstalled
	}
	args := []string{file}
	for _, i := range n.Include {
		args = append(args, "-I", i)
	}
	if command != "" {
		args = append(args, "--run", command)
	}
	cmd := exec.Command("nix-shell", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting nix-shell: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGTERM || sig == syscall.SIGHUP {
				cmd.Process.Signal(sig)
			}
		case err := <-done:
			var ee *exec.ExitError
			switch {
			case err == nil:
				return 0, nil
			case errors.As(err, &ee):
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return 128 + int(ws.Signal()), nil
				}
				return ee.ExitCode(), nil
			default:
				return 0, err
			}
		}
	}
}
