package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/hashicorp/hcl/v2"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nix-docker/nix-docker/internal/build"
	"github.com/nix-docker/nix-docker/schema"
)

// runBuild is the main command: build the image and load it (-b), or
// build host-store mode's result (without -b).
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
		doBuild   = fs.Bool("b", false, "build the image and load it into the Docker engine (without -b: host-store mode, ./result/bin/docker-run)")
		tag       = fs.String("t", "", "image name and optional tag, as in docker build -t")
		include   listFlag
		initPath  = fs.String("init", "", "the nix-docker-init binary (default: $NIX_DOCKER_INIT, or next to nix-docker)")
		maxLayers = fs.Int("max-layers", build.DefaultMaxLayers, "most layers in the image (Docker's ceiling is 125, base layers included)")
		quiet     = fs.Bool("q", false, "quiet: print only the image ID (the result path without -b) and errors")
		from      = fs.String("from", "", "with -b: build on this image's layers, adding only the store paths it lacks")
		output    = fs.String("o", "", "with -b: write the docker-archive to `FILE` (\"-\": stdout) instead of loading it; without -b: the out-link (default ./result)")
		ociDir    = fs.String("oci", "", "with -b: write an OCI image layout to `DIR` instead of loading it (with -o too: both)")
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
		From:      *from,
		OCIDir:    *ociDir,
	}
	if *quiet {
		opts.Log = nil
	}
	created, err := creationTime(file)
	if err != nil {
		fmt.Fprintf(stderr, "nix-docker: %v\n", err)
		return 2
	}
	opts.Created = created
	if opts.InitPath == "" {
		fmt.Fprintln(stderr, "nix-docker: cannot find nix-docker-init: build it next to nix-docker (scripts/setup does), or pass --init")
		return 2
	}
	parser := schema.NewParser()
	opts.Warnings = func(d hcl.Diagnostics) { writeDiags(stderr, parser.Files(), d) }
	start := time.Now()

	if !*doBuild {
		if *from != "" || *ociDir != "" {
			fmt.Fprintln(stderr, "nix-docker: --from and --oci need -b (host-store mode makes no image of the closure)")
			return 2
		}
		opts.OutLink = *output
		res, err := build.HostStore(ctx, parser, opts)
		if err != nil {
			return report(stderr, parser, file, err)
		}
		if !*quiet {
			fmt.Fprintf(stderr, "built %s -> %s in %.1fs (metadata-only image %s)\n", res.OutLink, res.Result, time.Since(start).Seconds(), res.ImageID)
			fmt.Fprintf(stderr, "run it here:\n    %s/bin/docker-run        (-d to detach, --ip 127.0.0.1 to publish on loopback only)\n", res.OutLink)
			fmt.Fprintf(stderr, "run it on HOST (with Nix and Docker):\n    nix-copy-closure --to HOST %s && ssh HOST %s/bin/docker-run -d\n", res.Result, res.Result)
		}
		fmt.Fprintln(stdout, res.Result)
		return 0
	}

	// Where the image goes: an archive or OCI layout when asked,
	// otherwise the engine under the tag.
	idOut := stdout
	var archive *outFile
	if *output != "" {
		archive, err = createOutput(*output, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "nix-docker: %v\n", err)
			return 1
		}
		defer archive.abort()
		opts.Archive = archive
		if *output == "-" {
			idOut = stderr
		}
	}
	opts.Load = *output == "" && *ociDir == ""
	if opts.Load && *tag == "" {
		fmt.Fprintln(stderr, "nix-docker: -b needs -t NAME[:TAG] (or -o FILE / --oci DIR to write the image instead of loading it)")
		return 2
	}
	res, err := build.Run(ctx, parser, opts)
	if err != nil {
		return report(stderr, parser, file, err)
	}
	if archive != nil {
		if err := archive.commit(); err != nil {
			fmt.Fprintf(stderr, "nix-docker: writing %s: %v\n", *output, err)
			return 1
		}
	}
	id := res.Image.ID()
	if !*quiet {
		switch {
		case opts.Load:
			id = res.Load.ImageID
			fallback := ""
			if res.Load.FullFallback {
				fallback = " (the engine refused a partial archive: sent the full one)"
			}
			fmt.Fprintf(stderr, "loaded %s as %s in %.1fs: %d layers sent (%s), %d already in the engine%s\n",
				id, *tag, time.Since(start).Seconds(), res.Load.LayersSent, build.ByteSize(res.Load.BytesSent), res.Load.LayersSkipped, fallback)
		default:
			if archive != nil {
				fmt.Fprintf(stderr, "wrote %s to %s: %d layers, %s\n", id, archive.name(), len(res.Image.Layers), build.ByteSize(res.ArchiveSize))
			}
			if *ociDir != "" {
				fmt.Fprintf(stderr, "wrote %s to the OCI layout %s\n", id, *ociDir)
			}
		}
	} else if opts.Load {
		id = res.Load.ImageID
	}
	fmt.Fprintln(idOut, id)
	return 0
}

// outFile is -o's destination: stdout, or a temporary file renamed into
// place only when the build succeeded.
type outFile struct {
	w      io.Writer
	f      *os.File
	target string
	done   bool
}

func createOutput(name string, stdout io.Writer) (*outFile, error) {
	if name == "-" {
		return &outFile{w: stdout, target: "-"}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &outFile{w: f, f: f, target: name}, nil
}

func (o *outFile) Write(p []byte) (int, error) { return o.w.Write(p) }

func (o *outFile) name() string {
	if o.target == "-" {
		return "stdout"
	}
	return o.target
}

func (o *outFile) commit() error {
	o.done = true
	if o.f == nil {
		return nil
	}
	if err := o.f.Close(); err != nil {
		os.Remove(o.f.Name())
		return err
	}
	os.Chmod(o.f.Name(), 0o644)
	return os.Rename(o.f.Name(), o.target)
}

func (o *outFile) abort() {
	if o.done || o.f == nil {
		return
	}
	o.f.Close()
	os.Remove(o.f.Name())
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

// creationTime is the image's creation time: SOURCE_DATE_EPOCH (the
// reproducible-builds convention) when set, else the time of the last git
// commit that touched file, else the zero time (the image says 1970). The
// layers never depend on it, only the config does.
func creationTime(file string) (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return time.Time{}, nil
	}
	out, err := exec.Command("git", "-C", filepath.Dir(abs), "log", "-1", "--format=%ct", "--", filepath.Base(abs)).Output()
	if err != nil {
		return time.Time{}, nil // not in a git work tree, or no git
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, nil // never committed
	}
	return time.Unix(n, 0).UTC(), nil
}
