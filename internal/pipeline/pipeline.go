package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nix-docker/nix-docker/internal/image"
	"github.com/nix-docker/nix-docker/internal/layers"
	"github.com/nix-docker/nix-docker/internal/nixbuild"
	"github.com/nix-docker/nix-docker/internal/output"
	"github.com/nix-docker/nix-docker/schema"
)

// Options is everything the command line decided about a build.
type Options struct {
	File      string    // the app file
	Tag       string    // the image's name[:tag]; the name goes into LabelName
	Include   []string  // -I entries for Nix
	InitPath  string    // a prebuilt static init binary on this host; "": Nix builds it from the carried source
	MaxLayers int       // most layers in the image, base layers included; 0 means DefaultMaxLayers
	Created   time.Time // the image's creation time (SOURCE_DATE_EPOCH)
	// From is a base image in the engine (--from): the new image is its
	// layers plus layers for the store paths it lacks.
	From string
	// AllowPaths are directories outside the app file's directory that
	// path() may copy into the store (--allow-path).
	AllowPaths []string
	// OutLink is host-store mode's Nix out-link ("" means "result").
	OutLink string
	// Log receives progress and Nix's output; nil discards them.
	Log io.Writer
	// Warnings receives the app file's warnings (secrets in the image,
	// ...) with the sources they point into; nil drops them.
	Warnings func(hcl.Diagnostics, map[string]*hcl.File)
	// Ready, when set, is called once the app file is read and the Nix
	// expression rendered, before Nix runs: the caller waits there for
	// what it started beside the build (the engine's description, in
	// nix-docker -b); an error stops the build.
	Ready func() error
	// Trace receives each step of the build and how long it took
	// (NIX_DOCKER_TRACE); nil reports nothing.
	Trace func(what string, took time.Duration)
}

// DefaultMaxLayers is the cost model's layer count (layers.DefaultMax,
// docs/images.md); Docker's own ceiling is 125.
const DefaultMaxLayers = layers.DefaultMax

// Deps are the outside systems a build talks to, made once per build.
type Deps struct {
	// Nix builds expressions and reads closures; nil means the nix
	// command-line tools with Options.Include and Options.Log.
	Nix Nix
	// Engine is the Docker engine --from reads the base image from; nil
	// when there is none.
	Engine Engine
	// StoreRoot is the directory holding nix/store, where the pipeline
	// reads the system path's files and the layers' contents; "" means
	// "/". Tests point it at a fake store.
	StoreRoot string
}

// Nix is what the pipeline asks of Nix. *nixbuild.Nix is one.
type Nix interface {
	// Build realises the expression in file and returns its output path,
	// registered as a GC root at outLink unless outLink is "".
	Build(ctx context.Context, file, outLink string) (string, error)
	// Closure returns the store paths path depends on, path included.
	Closure(ctx context.Context, path string) ([]nixbuild.PathInfo, error)
}

// Result is what a build made.
type Result struct {
	ImageID string          // the image's ID (the config's digest)
	Reports []output.Report // one per output, in the order given
}

// Error is a build failure; Diags holds the source-level problems, if
// any, and Files the sources they point into, for rendering.
type Error struct {
	Diags hcl.Diagnostics
	Files map[string]*hcl.File
	Err   error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Diags.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// run is one build's state: its options, the outside systems, and the
// parser that keeps every source it read.
type run struct {
	opts   Options
	nix    Nix
	engine Engine
	root   string
	parser *schema.Parser
	cache  string // the layer cache's records
	// cacheErr is why there is no cache directory: a build needs one.
	cacheErr error
	bases    string // the tars of --from bases' layers, saved from the engine
	// closures holds the closure cache's records (closures.go).
	closures string
}

func newRun(opts Options, deps Deps) *run {
	r := &run{opts: opts, nix: deps.Nix, engine: deps.Engine, root: deps.StoreRoot, parser: schema.NewParser()}
	r.cache, r.cacheErr = cacheDir()
	r.bases = baseCacheDir(r.cache)
	r.closures = closureCacheDir(r.cache)
	if r.nix == nil {
		r.nix = &nixbuild.Nix{Include: opts.Include, Log: opts.Log}
	}
	if r.root == "" {
		r.root = "/"
	}
	return r
}

// done gives an *Error the parsed sources its diagnostics point into.
func (r *run) done(err error) error {
	var e *Error
	if errors.As(err, &e) {
		e.Files = r.parser.Files()
	}
	return err
}

// timed starts a step of the trace; the function it returns ends it.
// With no Options.Trace it does nothing.
func (r *run) timed(what string) func() {
	if r.opts.Trace == nil {
		return func() {}
	}
	start := time.Now()
	return func() { r.opts.Trace(what, time.Since(start)) }
}

func (r *run) logf(format string, args ...any) {
	if r.opts.Log != nil {
		fmt.Fprintf(r.opts.Log, format+"\n", args...)
	}
}

// Build runs every stage and delivers the image to outs: each output
// gets it, then all are committed. Until the last output delivered, no
// tag moves and no output file appears.
func Build(ctx context.Context, opts Options, deps Deps, outs []output.Output) (*Result, error) {
	r := newRun(opts, deps)
	res, err := r.build(ctx, outs)
	return res, r.done(err)
}

func (r *run) build(ctx context.Context, outs []output.Output) (*Result, error) {
	if r.cacheErr != nil {
		return nil, r.cacheErr
	}
	end := r.timed("load and check the app file")
	p, err := r.load()
	end()
	if err != nil {
		return nil, err
	}
	end = r.timed("render the Nix expression")
	expr, err := r.render(p)
	end()
	if err != nil {
		return nil, err
	}
	if r.opts.Ready != nil {
		end = r.timed("wait for the outputs")
		err = r.opts.Ready()
		end()
		if err != nil {
			return nil, err
		}
	}
	sys, err := r.realise(ctx, p, expr)
	if err != nil {
		return nil, err
	}
	base, err := r.fetchBase(ctx, needsBaseLayers(outs))
	if err != nil {
		return nil, err
	}
	end = r.timed("plan the layers")
	plan, err := r.planLayers(sys, base)
	end()
	if err != nil {
		return nil, err
	}
	if err := r.checkBase(ctx, sys, base); err != nil {
		return nil, err
	}
	end = r.timed("write the image (layer digests, config)")
	img, err := r.writeImage(p, sys, base, plan)
	end()
	if err != nil {
		return nil, err
	}
	reports, err := deliver(ctx, img, outs, r.timed)
	if err != nil {
		return nil, err
	}
	return &Result{ImageID: img.ID(), Reports: reports}, nil
}

// cacheDir is the layer cache: what builds learnt of each layer (its
// digests and sizes), never its bytes. It is layer-records in the cache
// root (package cachedir), which also holds the closures and base-layers
// beside it.
func cacheDir() (string, error) {
	return image.DefaultCacheDir()
}

// baseCacheDir is where the layers of --from bases are kept once saved
// from the engine, beside the layer cache in the cache root (never a
// shared directory: cachedir.Root): nix-docker did not make them
// and cannot make them again, so they are files (bounded by
// MaxBaseBytes, removed by prune).
func baseCacheDir(cache string) string {
	return filepath.Join(filepath.Dir(cache), "base-layers")
}
