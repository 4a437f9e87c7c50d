package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/nix-docker/nix-docker/internal/pipeline"
)

// runOptions prints every built-in module's options as Markdown (the
// output is docs/modules.md), or one module's.
func runOptions(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nix-docker options", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(stderr, "usage: nix-docker options [MODULE]")
		return 2
	}
	doc, err := pipeline.ModuleOptions(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "nix-docker: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, doc)
	return 0
}
