// Command nix-docker turns a declarative HCL file into a minimal Docker
// image built by Nix.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nix-docker/nix-docker/internal/pipeline"
)

const usage = `usage:
  nix-docker -b -t NAME[:TAG] [flags] FILE   build an image and load it into the Docker engine
  nix-docker check FILE                       validate FILE and print the plan
  nix-docker nix FILE                         print the generated Nix expression
  nix-docker -b --push REG/NAME[:TAG] FILE    build an image and push it to a registry
  nix-docker prune [NAME]                     trim the layer cache; remove NAME's old, untagged images
  nix-docker shell [--run CMD] FILE           a shell (nix-shell) with the packages FILE's services use
  nix-docker options [MODULE]                 list the built-in modules' options
  nix-docker fmt [-check] [FILE|-]            format HCL files (default: *.hcl here)
  nix-docker deploy [--install REPO]          print or install a git hook that deploys pushes
  nix-docker version                          print the version and commit (also --version)
`

// commands are the subcommands; the default is build.
var commands = map[string]func(args []string, stdout, stderr io.Writer) int{
	"check":   runCheck,
	"deploy":  runDeploy,
	"fmt":     runFmt,
	"nix":     runNix,
	"options": runOptions,
	"prune":   runPrune,
	"shell":   runShell,
	"version": runVersion,
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if cmd, ok := commands[args[0]]; ok {
			if helpAsked(args[1:]) {
				return commandHelp(args[0], cmd, stderr)
			}
			return cmd(args[1:], stdout, stderr)
		}
		if args[0] == "help" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		if args[0] == "--version" || args[0] == "-version" {
			return runVersion(nil, stdout, stderr)
		}
		if unknownCommand(args[0], stderr) {
			return 2
		}
	}
	return runBuild(args, stdout, stderr)
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// report prints a failure: source diagnostics with snippets, or the error.
// It returns the exit code.
func report(stderr io.Writer, file string, err error) int {
	var be *pipeline.Error
	if errors.As(err, &be) && be.Diags.HasErrors() {
		writeDiags(stderr, be.Files, be.Diags)
		fmt.Fprintf(stderr, "nix-docker: %d error(s) in %s; nothing was built\n", len(be.Diags.Errs()), file)
		return 1
	}
	fmt.Fprintf(stderr, "nix-docker: %v\n", err)
	return 1
}

// oneFile checks that exactly one file argument is left.
func oneFile(fs interface {
	NArg() int
	Arg(int) string
}, stderr io.Writer) (string, bool) {
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "nix-docker: expected exactly one HCL file")
		fmt.Fprint(stderr, usage)
		return "", false
	}
	return fs.Arg(0), true
}
