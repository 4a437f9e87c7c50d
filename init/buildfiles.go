package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/nix-docker/nix-docker/init/supervise"
	"github.com/nix-docker/nix-docker/internal/contract"
)

// buildFiles is the Nix builder mode: it writes the entries (a JSON array
// in $entries) into out. Parent directories are made 0555, as in the store.
// Then, when $check is set, it runs that command (see runCheck) with its
// output on stderr.
func buildFiles(out, entriesJSON string, getenv func(string) string, stderr io.Writer) error {
	if out == "" {
		return errors.New("$out is not set")
	}
	if entriesJSON == "" {
		return errors.New("$entries is not set")
	}
	var entries []contract.FileEntry
	dec := json.NewDecoder(strings.NewReader(entriesJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entries); err != nil {
		return fmt.Errorf("$entries: %w", err)
	}
	var dirs []string
	for i, e := range entries {
		if err := writeEntry(out, e, getenv, &dirs); err != nil {
			return fmt.Errorf("entry %d (%q): %w", i, e.Path, err)
		}
	}
	// Directories last and deepest first, so that writing into them
	// above never met a read-only parent.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i], 0o555); err != nil {
			return err
		}
	}
	if check := getenv(contract.CheckVar); check != "" {
		return runCheck(check, out, stderr)
	}
	return nil
}

// checkFailed is a check command that ran and did not exit 0.
type checkFailed struct {
	command string // as given in $check
	code    int    // exit code, or 128 plus the signal
	signal  string // the signal's name when a signal ended it
}

func (e *checkFailed) Error() string {
	s := fmt.Sprintf("check failed: %s: exit %d", e.command, e.code)
	if e.signal != "" {
		s += " (signal " + e.signal + ")"
	}
	return s
}

// runCheck runs a file's check command, such as `nginx -t -c $out`: check
// is split into words as the init splits a service's command, every "$out"
// inside a word becomes out, and the command runs with stdin /dev/null,
// stdout and stderr on stderr, and the builder's environment. A command
// that cannot start or does not exit 0 is an error.
func runCheck(check, out string, stderr io.Writer) error {
	argv, err := supervise.SplitWords(check)
	if err != nil {
		return fmt.Errorf("check %q: %w", check, err)
	}
	for i, w := range argv {
		argv[i] = strings.ReplaceAll(w, "$out", out)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		f := &checkFailed{command: check, code: supervise.ExitCode(ws)}
		if ws.Signaled() {
			f.signal = supervise.SignalName(ws.Signal())
		}
		return f
	}
	if err != nil {
		return fmt.Errorf("check failed: %s: %w", check, err)
	}
	return nil
}

func writeEntry(out string, e contract.FileEntry, getenv func(string) string, dirs *[]string) error {
	if (e.From == "") == (e.Link == "") {
		return errors.New("needs exactly one of from and link")
	}
	dst := out
	if e.Path != "" {
		clean := filepath.Clean(e.Path)
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || clean == "." {
			return errors.New("path must be relative and stay inside $out")
		}
		dst = filepath.Join(out, clean)
		if err := mkdirs(out, filepath.Dir(clean), dirs); err != nil {
			return err
		}
	}
	if e.Link != "" {
		return os.Symlink(e.Link, dst)
	}
	src := getenv(e.From)
	if src == "" {
		return fmt.Errorf("environment variable %s (from) is not set", e.From)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	mode := os.FileMode(e.Mode)
	if e.Mode == 0 {
		mode = 0o644
	}
	if e.Mode&^0o777 != 0 {
		return fmt.Errorf("mode %o has bits other than permissions", e.Mode)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// mkdirs creates rel and its parents under out, remembering each new one.
func mkdirs(out, rel string, dirs *[]string) error {
	if rel == "." {
		if _, err := os.Stat(out); os.IsNotExist(err) {
			if err := os.Mkdir(out, 0o755); err != nil {
				return err
			}
			*dirs = append(*dirs, out)
		}
		return nil
	}
	if err := mkdirs(out, filepath.Dir(rel), dirs); err != nil {
		return err
	}
	p := filepath.Join(out, rel)
	fi, err := os.Lstat(p)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", rel)
		}
		return nil
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		return err
	}
	*dirs = append(*dirs, p)
	return nil
}
