package pipeline

import (
	"io"
	"os"
	"path/filepath"

	"github.com/nix-docker/nix-docker/internal/nixbuild"
	"github.com/nix-docker/nix-docker/internal/nixexpr"
)

// ShellOptions are what `nix-docker shell` runs: the app file (File,
// Include, InitPath as for a build), a command to run instead of an
// interactive shell, and the terminal.
type ShellOptions struct {
	Options
	Command string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

// Shell opens nix-shell with the packages the app file's services use,
// the same store paths its image holds (nixexpr.RenderShell), and returns
// the shell's exit code. Loading and rendering fail as a build does, with
// diagnostics.
func Shell(opts ShellOptions) (int, error) {
	r := newRun(opts.Options, Deps{})
	p, err := r.load()
	if err != nil {
		return 0, r.done(err)
	}
	expr, err := nixexpr.RenderShell(p, nixexpr.Options{InitPath: opts.InitPath, Source: filepath.Base(opts.File)})
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "nix-docker-shell-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "shell.nix")
	if err := os.WriteFile(file, expr, 0o644); err != nil {
		return 0, err
	}
	n := &nixbuild.Nix{Include: opts.Include}
	return n.Shell(file, opts.Command, opts.Stdin, opts.Stdout, opts.Stderr)
}
