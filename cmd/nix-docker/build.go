package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/output"
	"github.com/nix-docker/nix-docker/internal/pipeline"
)

// buildFlags are the main command's flags.
type buildFlags struct {
	build    bool
	tag      string
	include  listFlag
	init     string
	max      int
	quiet    bool
	from     string
	output   string
	oci      string
	loadVia  string
	push     string
	insecure bool
	allow    listFlag
}

// allowPathUsage documents --allow-path, which build, check and nix take.
const allowPathUsage = "let path() copy from `DIR`, outside the app file's directory, into the world-readable store (repeatable)"

// parseBuildFlags parses the main command's flags and its one file
// argument; ok is false after a usage error or -h (code says which).
func parseBuildFlags(args []string, stderr io.Writer) (f buildFlags, file string, code int, ok bool) {
	fs := flag.NewFlagSet("nix-docker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage+"\nflags:\n")
		fs.PrintDefaults()
	}
	fs.BoolVar(&f.build, "b", false, "build the image and load it into the Docker engine (without -b: host-store mode, ./result/bin/docker-run)")
	fs.StringVar(&f.tag, "t", "", "image name and optional tag, as in docker build -t")
	fs.StringVar(&f.init, "init", "", initUsage)
	fs.IntVar(&f.max, "max-layers", pipeline.DefaultMaxLayers, "most layers in the image (Docker's ceiling is 125, base layers included)")
	fs.BoolVar(&f.quiet, "q", false, "quiet: print only the image ID (the result path without -b) and errors")
	fs.StringVar(&f.from, "from", "", "with -b: build on this image's layers, adding only the store paths it lacks")
	fs.StringVar(&f.output, "o", "", "with -b: write the docker-archive to `FILE` (\"-\": stdout) instead of loading it; without -b: the out-link (default ./result)")
	fs.StringVar(&f.oci, "oci", "", "with -b: write an OCI image layout to `DIR` instead of loading it (with -o too: both)")
	fs.StringVar(&f.loadVia, "load-via", "", "with -b: how to load into the engine: `archive` (every layer), partial (only the layers it lacks: Docker's classic store), registry (it pulls from a registry on 127.0.0.1); default: the fastest the engine takes")
	fs.StringVar(&f.push, "push", "", "with -b: push the image to the registry as `REGISTRY/NAME[:TAG]` (with -t: load it too, unless -o or --oci)")
	fs.BoolVar(&f.insecure, "insecure", false, "with --push: the registry may speak plain HTTP")
	fs.Var(&f.include, "I", "add a Nix search path entry, such as nixpkgs=/path (repeatable)")
	fs.Var(&f.allow, "allow-path", allowPathUsage)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, "", 0, false
		}
		return f, "", 2, false
	}
	switch f.loadVia {
	case output.ViaAuto, output.ViaArchive, output.ViaPartial, output.ViaRegistry:
	default:
		fmt.Fprintf(stderr, "nix-docker: --load-via %q: want archive, partial or registry\n", f.loadVia)
		return f, "", 2, false
	}
	file, ok = oneFile(fs, stderr)
	if !ok {
		return f, "", 2, false
	}
	return f, file, 0, true
}

// runBuild is the main command: build the image and deliver it (-b), or
// build host-store mode's result (without -b).
func runBuild(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f, file, code, ok := parseBuildFlags(args, stderr)
	if !ok {
		return code
	}
	opts := pipeline.Options{
		File:       file,
		Tag:        f.tag,
		Include:    f.include,
		InitPath:   findInit(f.init),
		MaxLayers:  f.max,
		Log:        stderr,
		From:       f.from,
		AllowPaths: f.allow,
		Warnings:   func(d hcl.Diagnostics, files map[string]*hcl.File) { writeDiags(stderr, files, d) },
		Trace:      tracer(stderr),
	}
	if f.quiet {
		opts.Log = nil
	}
	created, err := creationTime(file)
	if err != nil {
		fmt.Fprintf(stderr, "nix-docker: %v\n", err)
		return 2
	}
	opts.Created = created
	if !f.build {
		return runHostStore(ctx, f, opts, stdout, stderr)
	}
	return runImage(ctx, f, opts, stdout, stderr)
}

// runHostStore builds host-store mode's result.
func runHostStore(ctx context.Context, f buildFlags, opts pipeline.Options, stdout, stderr io.Writer) int {
	if f.from != "" || f.oci != "" || f.push != "" {
		fmt.Fprintln(stderr, "nix-docker: --from, --oci and --push need -b (host-store mode makes no image of the closure)")
		return 2
	}
	opts.OutLink = f.output
	start := time.Now()
	res, err := pipeline.HostStore(ctx, opts, pipeline.Deps{})
	if err != nil {
		return report(stderr, opts.File, err)
	}
	if !f.quiet {
		fmt.Fprintf(stderr, "built %s -> %s in %.1fs (metadata-only image %s)\n", res.OutLink, res.Result, time.Since(start).Seconds(), res.ImageID)
		fmt.Fprintf(stderr, "run it here:\n    %s/bin/docker-run        (-d to detach, --ip 127.0.0.1 to publish on loopback only)\n", res.OutLink)
		fmt.Fprintf(stderr, "run it on HOST (with Nix and Docker):\n    nix-copy-closure --to HOST %s && ssh HOST %s/bin/docker-run -d\n", res.Result, res.Result)
	}
	fmt.Fprintln(stdout, res.Result)
	return 0
}

// runImage builds the image and delivers it to the outputs the flags
// chose: an archive or OCI layout when asked, otherwise the engine under
// the tag.
func runImage(ctx context.Context, f buildFlags, opts pipeline.Options, stdout, stderr io.Writer) int {
	load := f.output == "" && f.oci == "" && (f.push == "" || f.tag != "")
	if load && f.tag == "" {
		fmt.Fprintln(stderr, "nix-docker: -b needs -t NAME[:TAG] (or -o FILE / --oci DIR / --push REF to write or push the image instead of loading it)")
		return 2
	}
	if f.insecure && f.push == "" {
		fmt.Fprintln(stderr, "nix-docker: --insecure goes with --push")
		return 2
	}
	if f.loadVia != "" && !load {
		fmt.Fprintln(stderr, "nix-docker: --load-via needs a load into the engine (not -o or --oci)")
		return 2
	}
	// One engine client for the build, made only when it is needed.
	var deps pipeline.Deps
	var cli *docker.Traced
	if load || f.from != "" {
		c, err := docker.New()
		if err != nil {
			fmt.Fprintf(stderr, "nix-docker: %v\n", err)
			return 1
		}
		defer c.Close()
		cli = &docker.Traced{Client: c, Trace: opts.Trace}
		deps.Engine = cli
	}
	outs, err := outputs(ctx, f, cli, stdout, stderr, opts, &opts.Ready)
	if err != nil {
		fmt.Fprintf(stderr, "nix-docker: %v\n", err)
		return 1
	}
	start := time.Now()
	res, err := pipeline.Build(ctx, opts, deps, outs)
	if err != nil {
		return report(stderr, opts.File, err)
	}
	id := res.ImageID
	if len(res.Reports) > 0 {
		id = res.Reports[0].ImageID // the engine's ID for it, when loaded
	}
	if !f.quiet {
		for _, r := range res.Reports {
			fmt.Fprintf(stderr, "%s in %.1fs: %s\n", r.Summary, time.Since(start).Seconds(), r.Detail)
		}
	}
	if f.output == "-" {
		stdout = stderr // stdout carries the archive
	}
	fmt.Fprintln(stdout, id)
	return 0
}

// outputs are where the image goes, as the flags say. The push comes
// first: its Commit (the manifest) is the one most likely to fail, and
// the pipeline commits in order. For a load it starts asking the engine
// what it is, and sets *ready to wait for the answer and say how it will
// load (unless -q): the build calls it before Nix runs.
func outputs(ctx context.Context, f buildFlags, cli *docker.Traced, stdout, stderr io.Writer, opts pipeline.Options, ready *func() error) ([]output.Output, error) {
	var outs []output.Output
	if f.push != "" {
		p, err := output.NewPush(f.push, output.PushOptions{Insecure: f.insecure, Annotations: annotations(opts.File, f.push), Log: opts.Log})
		if err != nil {
			return nil, err
		}
		outs = append(outs, p)
	}
	switch f.output {
	case "":
	case "-":
		outs = append(outs, output.NewArchiveStream(stdout, f.tag))
	default:
		a, err := output.NewArchive(f.output, f.tag)
		if err != nil {
			return nil, err
		}
		outs = append(outs, a)
	}
	if f.oci != "" {
		outs = append(outs, output.NewOCI(f.oci, f.tag))
	}
	if f.output == "" && f.oci == "" && f.tag != "" {
		var bases []string
		if f.from != "" {
			bases = []string{f.from}
		}
		later, wait := describeEngine(ctx, cli, f, bases)
		*ready = func() error {
			if f.quiet {
				return wait(nil)
			}
			return wait(stderr)
		}
		outs = append(outs, later)
	}
	return outs, nil
}

// initUsage documents --init, for every command that renders.
const initUsage = "a prebuilt nix-docker-init `binary` to use (default: $NIX_DOCKER_INIT; without either, Nix builds the init from the source nix-docker carries)"

// findInit is the prebuilt init to use: the flag, else $NIX_DOCKER_INIT,
// else none ("": Nix builds it from the carried source).
func findInit(flagValue string) string {
	for _, p := range []string{flagValue, os.Getenv("NIX_DOCKER_INIT")} {
		if p != "" {
			if abs, err := filepath.Abs(p); err == nil {
				return abs
			}
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

// annotations are the pushed manifest's OCI annotations: the image's
// title (the pushed name without its registry and tag), and where the
// app file's source lives and at which commit, from git, when the file
// is in a work tree with a remote.
func annotations(file, ref string) map[string]string {
	a := map[string]string{}
	title := output.Repository(ref)
	if i := strings.Index(title, "/"); i >= 0 && strings.ContainsAny(title[:i], ".:") || title[:max(i, 0)] == "localhost" {
		title = title[i+1:]
	}
	a["org.opencontainers.image.title"] = title
	abs, err := filepath.Abs(file)
	if err != nil {
		return a
	}
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", filepath.Dir(abs)}, args...)...).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	if rev := git("rev-parse", "HEAD"); rev != "" {
		a["org.opencontainers.image.revision"] = rev
	}
	if src := sourceURL(git("remote", "get-url", "origin")); src != "" {
		a["org.opencontainers.image.source"] = src
	}
	return a
}

// sourceURL turns a git remote into a URL a registry can link to, with no
// credentials: https URLs as they are, ssh ones (ssh://git@host/path,
// git@host:path) as https://host/path; "" for anything else.
func sourceURL(remote string) string {
	if remote == "" {
		return ""
	}
	if u, err := url.Parse(remote); err == nil && u.Host != "" {
		switch u.Scheme {
		case "https", "http":
		case "ssh", "git+ssh":
			u.Scheme, u.Host = "https", u.Hostname() // an ssh port is not the web's
		default:
			return ""
		}
		u.User, u.RawQuery, u.Fragment = nil, "", ""
		return strings.TrimSuffix(u.String(), ".git")
	}
	// scp-like: [user@]host:path
	if at, rest, ok := strings.Cut(remote, ":"); ok && !strings.Contains(at, "/") && !strings.HasPrefix(rest, "/") {
		host := at[strings.LastIndex(at, "@")+1:]
		if host != "" && rest != "" {
			return "https://" + host + "/" + strings.TrimSuffix(rest, ".git")
		}
	}
	return ""
}
