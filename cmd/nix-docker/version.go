package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/nix-docker/nix-docker/internal/version"
)

// runVersion prints the version and commit this binary was built from.
func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nix-docker version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nix-docker version (or nix-docker --version)\n\nPrints the version and the commit this binary was built from, as Go recorded them.")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	fmt.Fprintln(stdout, version.Read())
	return 0
}
