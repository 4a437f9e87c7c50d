package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/nix-docker/nix-docker/internal/pipeline"
)

// runCheck validates a file and prints the plan.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nix-docker check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var allow listFlag
	fs.Var(&allow, "allow-path", allowPathUsage)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	file, ok := oneFile(fs, stderr)
	if !ok {
		return 2
	}
	c, err := pipeline.Check(pipeline.Options{File: file, AllowPaths: allow})
	if err != nil {
		return report(stderr, file, err)
	}
	writeDiags(stderr, c.Files, c.Warnings)
	fmt.Fprint(stdout, c.Plan)
	return 0
}

// runNix prints the generated Nix expression.
func runNix(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nix-docker nix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	initPath := fs.String("init", "", initUsage)
	var allow listFlag
	fs.Var(&allow, "allow-path", allowPathUsage)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	file, ok := oneFile(fs, stderr)
	if !ok {
		return 2
	}
	expr, err := pipeline.Render(pipeline.Options{File: file, InitPath: findInit(*initPath), AllowPaths: allow})
	if err != nil {
		return report(stderr, file, err)
	}
	stdout.Write(expr)
	return 0
}
