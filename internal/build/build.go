package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/image"
	"github.com/nix-docker/nix-docker/internal/layers"
	"github.com/nix-docker/nix-docker/internal/nixbuild"
	"github.com/nix-docker/nix-docker/internal/nixexpr"
	"github.com/nix-docker/nix-docker/internal/project"
	"github.com/nix-docker/nix-docker/schema"
)

// Options is everything the CLI decided.
type Options struct {
	File      string   // the app file
	Tag       string   // image name[:tag] to load and tag
	Include   []string // -I entries for Nix
	InitPath  string   // the static init binary on this host
	MaxLayers int
	Created   time.Time // image creation time (SOURCE_DATE_EPOCH)
	CacheDir  string    // layer cache
	Log       io.Writer // progress and Nix's output; nil discards
}

// DefaultMaxLayers leaves room under Docker's ceiling of 125 layers.
const DefaultMaxLayers = 100

// Result is what a build made.
type Result struct {
	System string // the system store path
	Image  *image.Image
	Load   docker.Result
}

// Error is a build failure; Diags holds the source-level problems, if
// any, to be rendered with the parser's files.
type Error struct {
	Diags hcl.Diagnostics
	Err   error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Diags.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Load reads and checks the project.
func Load(parser *schema.Parser, file string) (*project.Project, error) {
	p, diags := project.Load(parser, file)
	if diags.HasErrors() {
		return nil, &Error{Diags: diags}
	}
	return p, nil
}

// Render returns the Nix expression for the app file.
func Render(parser *schema.Parser, opts Options) ([]byte, error) {
	p, err := Load(parser, opts.File)
	if err != nil {
		return nil, err
	}
	return nixexpr.Render(p, nixexpr.Options{InitPath: opts.InitPath, Source: filepath.Base(opts.File)})
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// Realise builds the system store path of the app file.
func Realise(ctx context.Context, parser *schema.Parser, opts Options) (string, error) {
	expr, err := Render(parser, opts)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "nix-docker-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "default.nix")
	if err := os.WriteFile(file, expr, 0o644); err != nil {
		return "", err
	}
	nix := &nixbuild.Nix{Include: opts.Include, Log: opts.Log}
	opts.logf("building %s with nix-build", opts.File)
	system, err := nix.Build(ctx, file, "")
	if err != nil {
		return "", err
	}
	return system, nil
}

// Image builds the app file and writes the image's layers.
func Image(ctx context.Context, parser *schema.Parser, opts Options) (*Result, error) {
	if opts.InitPath == "" {
		return nil, fmt.Errorf("no init binary: build it with `go build -o bin/nix-docker-init ./init`, or set NIX_DOCKER_INIT")
	}
	system, err := Realise(ctx, parser, opts)
	if err != nil {
		return nil, err
	}
	nix := &nixbuild.Nix{Include: opts.Include}
	closure, err := nix.Closure(ctx, system)
	if err != nil {
		return nil, err
	}
	spec, err := imageSpec(system, closure, opts)
	if err != nil {
		return nil, err
	}
	cache := opts.CacheDir
	if cache == "" {
		cache = DefaultCacheDir()
	}
	opts.logf("writing %d layers for %d store paths", len(spec.Layers)+1, len(closure))
	img, err := image.Build(spec, cache)
	if err != nil {
		return nil, fmt.Errorf("writing image: %w", err)
	}
	return &Result{System: system, Image: img}, nil
}

// Run builds the image and loads it into the engine under opts.Tag. The tag
// moves only when everything before succeeded.
func Run(ctx context.Context, parser *schema.Parser, opts Options) (*Result, error) {
	res, err := Image(ctx, parser, opts)
	if err != nil {
		return nil, err
	}
	cli, err := docker.New()
	if err != nil {
		return nil, fmt.Errorf("connecting to the Docker engine: %w", err)
	}
	defer cli.Close()
	opts.logf("loading %s into the Docker engine", opts.Tag)
	lr, err := docker.Load(ctx, cli, res.Image, opts.Tag, nil)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", opts.Tag, err)
	}
	res.Load = lr
	return res, nil
}

// DefaultCacheDir is where layer tars are kept between builds.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "nix-docker", "layers")
	}
	return filepath.Join(os.TempDir(), "nix-docker-layers")
}

// imageSpec lays out the image: the closure in layers, the root entries
// the programs expect, and the config from the system path's image.json.
func imageSpec(system string, closure []nixbuild.PathInfo, opts Options) (image.Spec, error) {
	var meta nixexpr.Metadata
	b, err := os.ReadFile(filepath.Join(system, "image.json"))
	if err != nil {
		return image.Spec{}, err
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return image.Spec{}, fmt.Errorf("reading %s/image.json: %w", system, err)
	}
	initPath, err := os.Readlink(filepath.Join(system, "init"))
	if err != nil {
		return image.Spec{}, fmt.Errorf("finding the init in %s: %w", system, err)
	}
	paths := make([]layers.StorePath, 0, len(closure))
	for _, c := range closure {
		paths = append(paths, layers.StorePath{Path: c.Path, NarSize: c.NarSize, References: c.References})
	}
	max := opts.MaxLayers
	if max <= 0 {
		max = DefaultMaxLayers
	}
	// One layer goes to the root entries below.
	plan := layers.Plan(paths, []string{system}, max-1)

	spec := image.Spec{
		Layers: plan,
		Extra: []image.Entry{
			{Path: "/etc", Mode: fs.ModeDir | 0o755},
			{Path: "/etc/group", Mode: fs.ModeSymlink | 0o777, Target: system + "/etc/group"},
			{Path: "/etc/nsswitch.conf", Mode: fs.ModeSymlink | 0o777, Target: system + "/etc/nsswitch.conf"},
			{Path: "/etc/passwd", Mode: fs.ModeSymlink | 0o777, Target: system + "/etc/passwd"},
			{Path: "/run", Mode: fs.ModeDir | 0o755},
			{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
		},
		Entrypoint: []string{initPath, system + "/runspec.json"},
		Env:        append([]string{"PATH=/usr/bin:/bin"}, meta.Env...),
		Volumes:    meta.Volumes,
		Labels: map[string]string{
			"org.nix-docker.system": system,
		},
		Created: opts.Created,
	}
	for _, p := range meta.Ports {
		spec.ExposedPorts = append(spec.ExposedPorts, fmt.Sprintf("%d/tcp", p))
	}
	for _, e := range spec.Env {
		if strings.HasPrefix(e, "PATH=") && e != "PATH=/usr/bin:/bin" {
			spec.Env = spec.Env[1:] // the app sets its own PATH
			break
		}
	}
	return spec, nil
}
