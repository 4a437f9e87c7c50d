package main

import (
	"flag"
	"io"

	"github.com/nix-docker/nix-docker/internal/build"
	"github.com/nix-docker/nix-docker/schema"
)

// runCheck validates a file and prints the plan.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nix-docker check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	file, ok := oneFile(fs, stderr)
	if !ok {
		return 2
	}
	parser := schema.NewParser()
	p, err := build.Load(parser, file)
	if err != nil {
		return report(stderr, parser, file, err)
	}
	writeDiags(stderr, parser.Files(), p.Warnings)
	printPlan(stdout, p)
	return 0
}

// runNix prints the generated Nix expression.
func runNix(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nix-docker nix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	initPath := fs.String("init", "", "the nix-docker-init binary (default: $NIX_DOCKER_INIT, or next to nix-docker)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	file, ok := oneFile(fs, stderr)
	if !ok {
		return 2
	}
	parser := schema.NewParser()
	expr, err := build.Render(parser, build.Options{File: file, InitPath: findInit(*initPath)})
	if err != nil {
		return report(stderr, parser, file, err)
	}
	stdout.Write(expr)
	return 0
}
