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
	"syscall"
	"time"

	"github.com/nix-docker/nix-docker/internal/build"
	"github.com/nix-docker/nix-docker/schema"
)

// runBuild is the main command: build the image and load it.
func runBuild(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fs := flag.NewFlagSet("nix-docker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage+"\nflags:\n")
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
	file, ok := oneFile(fs, stderr)
	if !ok {
		return 2
	}
	opts := build.Options{
		File:      file,
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

	if !*doBuild {
		fmt.Fprintln(stderr, "nix-docker: host-store mode (without -b) is not available yet; pass -b to build an image")
		return 2
	}
	if *tag == "" {
		fmt.Fprintln(stderr, "nix-docker: -b needs -t NAME[:TAG]")
		return 2
	}
	if opts.InitPath == "" {
		fmt.Fprintln(stderr, "nix-docker: cannot find nix-docker-init: build it next to nix-docker (scripts/setup does), or pass --init")
		return 2
	}
	parser := schema.NewParser()
	start := time.Now()
	res, err := build.Run(ctx, parser, opts)
	if err != nil {
		return report(stderr, parser, file, err)
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
