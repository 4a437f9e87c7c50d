// Command nix-docker turns a declarative HCL file into a minimal Docker
// image built by Nix.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nix-docker/nix-docker/internal/build"
	"github.com/nix-docker/nix-docker/schema"
)

const usage = `usage:
  nix-docker -b -t NAME[:TAG] [flags] FILE   build an image and load it into the Docker engine
  nix-docker check FILE                       validate FILE and print the plan
  nix-docker nix FILE                         print the generated Nix expression

flags:
`

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmd := ""
	if len(args) > 0 && (args[0] == "check" || args[0] == "nix") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("nix-docker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var (
		doBuild   = fs.Bool("b", false, "build the image and load it into the Docker engine")
		tag       = fs.String("t", "", "image name and optional tag, as in docker build -t")
		include   listFlag
		initPath  = fs.String("init", "", "the nix-docker-init binary (default: $NIX_DOCKER_INIT, or next to nix-docker)")
		maxLayers = fs.Int("max-layers", build.DefaultMaxLayers, "most layers in the image (Docker's ceiling is 125, base layers included)")
		quiet     = fs.Bool("q", false, "quiet: print only the image ID and errors")
	)
	fs.Var(&include, "I", "add a Nix search path entry, such as nixpkgs=/path (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "nix-docker: expected exactly one HCL file")
		fs.Usage()
		return 2
	}
	opts := build.Options{
		File:      fs.Arg(0),
		Tag:       *tag,
		Include:   include,
		InitPath:  findInit(*initPath),
		MaxLayers: *maxLayers,
		Log:       stderr,
	}
	if *quiet {
		opts.Log = nil
	}
	created, err := sourceDateEpoch()
	if err != nil {
		fmt.Fprintf(stderr, "nix-docker: %v\n", err)
		return 2
	}
	opts.Created = created

	parser := schema.NewParser()
	fail := func(err error) int {
		var be *build.Error
		if errors.As(err, &be) && be.Diags.HasErrors() {
			writeDiags(stderr, parser.Files(), be.Diags)
			n := len(be.Diags.Errs())
			fmt.Fprintf(stderr, "nix-docker: %d error(s) in %s; nothing was built\n", n, opts.File)
			return 1
		}
		fmt.Fprintf(stderr, "nix-docker: %v\n", err)
		return 1
	}

	switch cmd {
	case "check":
		p, err := build.Load(parser, opts.File)
		if err != nil {
			return fail(err)
		}
		printPlan(stdout, p)
		return 0
	case "nix":
		expr, err := build.Render(parser, opts)
		if err != nil {
			return fail(err)
		}
		stdout.Write(expr)
		return 0
	}

	if !*doBuild {
		fmt.Fprintln(stderr, "nix-docker: host-store mode (without -b) is not available yet; pass -b to build an image")
		return 2
	}
	if *tag == "" {
		fmt.Fprintln(stderr, "nix-docker: -b needs -t NAME[:TAG]")
		return 2
	}
	if opts.InitPath == "" {
		fmt.Fprintln(stderr, "nix-docker: cannot find nix-docker-init: build it next to nix-docker (go build -o bin/ ./cmd/nix-docker ./init), or pass --init")
		return 2
	}
	start := time.Now()
	res, err := build.Run(ctx, parser, opts)
	if err != nil {
		return fail(err)
	}
	if !*quiet {
		fmt.Fprintf(stderr, "loaded %s as %s in %.1fs: %d layers sent (%s), %d already in the engine\n",
			res.Load.ImageID, *tag, time.Since(start).Seconds(), res.Load.LayersSent, bytesString(res.Load.BytesSent), res.Load.LayersSkipped)
	}
	fmt.Fprintln(stdout, res.Load.ImageID)
	return 0
}

// findInit locates the init binary: the flag, $NIX_DOCKER_INIT, or
// nix-docker-init next to this executable.
func findInit(flagValue string) string {
	for _, p := range []string{flagValue, os.Getenv("NIX_DOCKER_INIT")} {
		if p != "" {
			if abs, err := filepath.Abs(p); err == nil {
				return abs
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "nix-docker-init")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH, the reproducible-builds
// convention for a build's timestamp. Unset: the zero time.
func sourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

func bytesString(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
