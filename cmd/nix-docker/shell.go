package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/nix-docker/nix-docker/internal/pipeline"
)

// runShell is `nix-docker shell [-I ...] [--run CMD] FILE`: nix-shell
// with the packages of the app file's services.
func runShell(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nix-docker shell", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var include listFlag
	var command, init string
	fs.Var(&include, "I", "add a Nix search path entry, such as nixpkgs=/path (repeatable)")
	fs.StringVar(&command, "run", "", "run `CMD` in the shell, then exit with its status, instead of an interactive shell")
	fs.StringVar(&init, "init", "", "the nix-docker-init binary (default: $NIX_DOCKER_INIT, or next to nix-docker)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	file, ok := oneFile(fs, stderr)
	if !ok {
		return 2
	}
	code, err := pipeline.Shell(pipeline.ShellOptions{
		Options: pipeline.Options{File: file, Include: include, InitPath: findInit(init)},
		Command: command,
		Stdin:   os.Stdin,
		Stdout:  stdout,
		Stderr:  stderr,
	})
	if err != nil {
		return report(stderr, file, err)
	}
	if code != 0 && command != "" {
		fmt.Fprintf(stderr, "nix-docker: shell command exited with status %d\n", code)
	}
	return code
}
