package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
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

	// From is a base image in the engine (--from): the new image is its
	// layers plus layers for the store paths it lacks.
	From string
	// Load loads the image into the engine and points Tag at it.
	Load bool
	// Archive, when not nil, receives the docker-archive (-o).
	Archive io.Writer
	// OCIDir, when not "", receives an OCI image layout (--oci).
	OCIDir string
	// OutLink is host-store mode's Nix out-link (default "result").
	OutLink string
	// Warnings receives the app file's warnings (secrets in the image,
	// ...); nil drops them.
	Warnings func(hcl.Diagnostics)
}

// Labels nix-docker writes into every image it builds.
const (
	// LabelSystem is the system store path.
	LabelSystem = "org.nix-docker.system"
	// LabelStorePaths lists the store paths the image holds, sorted, one
	// per line; --from reads it from a base image.
	LabelStorePaths = "org.nix-docker.store-paths"
	// LabelName is the image name (the -t value without its tag); prune
	// finds an app's images by it.
	LabelName = "org.nix-docker.name"
	// LabelHostStore marks a host-store mode image, which holds no store
	// paths: it runs with the host's /nix/store mounted.
	LabelHostStore = "org.nix-docker.host-store"
)

// DefaultMaxLayers is the cost model's layer count (layers.DefaultMax,
// docs/images.md); Docker's own ceiling is 125.
const DefaultMaxLayers = layers.DefaultMax

// Result is what a build made.
type Result struct {
	System      string // the system store path
	Image       *image.Image
	Load        docker.Result
	BaseLayers  int   // layers reused from the --from base
	NewPaths    int   // store paths in the image's own layers
	ArchiveSize int64 // bytes written to Options.Archive
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
	return expression(p, opts)
}

// expression renders the project's Nix expression.
func expression(p *project.Project, opts Options) ([]byte, error) {
	return nixexpr.Render(p, nixexpr.Options{InitPath: opts.InitPath, Source: filepath.Base(opts.File)})
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// Realise builds the system store path of the app file. A failed
// build of a file whose check refused it is reported at its declaration.
func Realise(ctx context.Context, parser *schema.Parser, opts Options) (string, error) {
	p, err := Load(parser, opts.File)
	if err != nil {
		return "", err
	}
	if len(p.Warnings) > 0 && opts.Warnings != nil {
		opts.Warnings(p.Warnings)
	}
	expr, err := expression(p, opts)
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
		return "", diagnose(p, err)
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
	spec, err := imageSpec(system, opts)
	if err != nil {
		return nil, err
	}
	cache := opts.CacheDir
	if cache == "" {
		cache = DefaultCacheDir()
	}
	max := opts.MaxLayers
	if max <= 0 {
		max = DefaultMaxLayers
	}
	all := map[string]bool{}
	for _, c := range closure {
		all[c.Path] = true
	}
	res := &Result{System: system}
	if opts.From != "" {
		base, err := fromBase(ctx, opts, cache)
		if err != nil {
			return nil, err
		}
		spec.Base = base.layers
		spec.BasePaths = base.paths
		for _, p := range base.paths {
			all[p] = true
		}
		res.BaseLayers = len(base.layers)
		opts.logf("base %s: %d layers, %d store paths", opts.From, len(base.layers), len(base.paths))
	}
	have := map[string]bool{}
	for _, p := range spec.BasePaths {
		have[p] = true
	}
	paths := make([]layers.StorePath, 0, len(closure))
	for _, c := range closure {
		if !have[c.Path] {
			paths = append(paths, layers.StorePath{Path: c.Path, NarSize: c.NarSize, References: c.References})
		}
	}
	// The base's layers and the root filesystem layer count too.
	room := max - len(spec.Base) - 1
	if room < 1 && len(paths) > 0 {
		return nil, fmt.Errorf("the base image %s has %d layers: with at most %d layers (--max-layers) no room is left for the app's", opts.From, len(spec.Base), max)
	}
	spec.Layers = layers.Plan(paths, []string{system}, room)
	spec.Labels[LabelStorePaths] = strings.Join(sortedKeys(all), "\n")
	res.NewPaths = len(paths)

	img, err := image.Build(spec, cache)
	if err != nil {
		return nil, fmt.Errorf("writing image: %w", err)
	}
	written, bytes := img.Written()
	own := len(img.Layers) - len(spec.Base)
	opts.logf("layers: %d for %d store paths and the root filesystem: %d written (%s), %d from the cache; %d from the base", own, len(paths), written, ByteSize(bytes), own-written, len(spec.Base))
	res.Image = img
	return res, nil
}

// Run builds the image and delivers it: loaded into the engine under
// opts.Tag, and/or written as a docker-archive or OCI layout. The tag
// moves only when everything before succeeded.
func Run(ctx context.Context, parser *schema.Parser, opts Options) (*Result, error) {
	res, err := Image(ctx, parser, opts)
	if err != nil {
		return nil, err
	}
	if opts.Archive != nil {
		var tags []string
		if opts.Tag != "" {
			tags = []string{normalTag(opts.Tag)}
		}
		n, err := res.Image.WriteArchive(opts.Archive, tags, nil)
		res.ArchiveSize = n
		if err != nil {
			return nil, fmt.Errorf("writing the docker-archive: %w", err)
		}
	}
	if opts.OCIDir != "" {
		if err := res.Image.WriteOCI(opts.OCIDir, refName(opts.Tag)); err != nil {
			return nil, fmt.Errorf("writing the OCI layout %s: %w", opts.OCIDir, err)
		}
		opts.logf("wrote the OCI image layout %s", opts.OCIDir)
	}
	if !opts.Load {
		return res, nil
	}
	cli, err := docker.New()
	if err != nil {
		return nil, fmt.Errorf("connecting to the Docker engine: %w", err)
	}
	defer cli.Close()
	opts.logf("loading %s into the Docker engine", opts.Tag)
	var bases []string
	if opts.From != "" {
		bases = []string{opts.From}
	}
	lr, err := docker.Load(ctx, cli, res.Image, opts.Tag, bases)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", opts.Tag, err)
	}
	res.Load = lr
	return res, nil
}

type base struct {
	layers []image.Layer
	paths  []string
}

// fromBase reads the --from image: its layers and the store paths it
// holds, from its store-paths label or else by listing /nix/store in its
// layers. The layer tars themselves are fetched from the engine only when
// needed (no label, or an archive or OCI layout to write).
func fromBase(ctx context.Context, opts Options, cache string) (base, error) {
	cli, err := docker.New()
	if err != nil {
		return base{}, err
	}
	defer cli.Close()
	b, err := docker.Base(ctx, cli, opts.From)
	if err != nil {
		return base{}, err
	}
	var out base
	label, hasLabel := b.Labels[LabelStorePaths]
	if hasLabel {
		out.paths = strings.Fields(label)
	}
	needFiles := opts.Archive != nil || opts.OCIDir != ""
	files := map[string]docker.SavedLayer{}
	if needFiles || !hasLabel {
		for _, d := range b.DiffIDs {
			f := filepath.Join(cache, "base-"+strings.TrimPrefix(d, "sha256:")+".tar")
			if st, err := os.Stat(f); err == nil && hasLabel {
				files[d] = docker.SavedLayer{DiffID: d, File: f, Size: st.Size()}
			}
		}
		if len(files) < len(b.DiffIDs) {
			opts.logf("reading the layers of %s from the engine", opts.From)
			saved, err := docker.SaveLayers(ctx, cli, b.ID, cache)
			if err != nil {
				return base{}, err
			}
			seen := map[string]bool{}
			for _, l := range saved {
				files[l.DiffID] = l
				for _, p := range l.StorePaths {
					if !hasLabel && !seen[p] {
						seen[p] = true
						out.paths = append(out.paths, p)
					}
				}
			}
			sort.Strings(out.paths)
		}
	}
	for _, d := range b.DiffIDs {
		l := image.Layer{DiffID: d}
		if f, ok := files[d]; ok {
			l.File, l.Size = f.File, f.Size
		} else if needFiles || !hasLabel {
			return base{}, fmt.Errorf("the saved image %s lacks its layer %s", opts.From, d)
		}
		out.layers = append(out.layers, l)
	}
	return out, nil
}

// normalTag adds ":latest" to a name without a tag.
func normalTag(tag string) string {
	if i := strings.LastIndex(tag, ":"); i < 0 || strings.Contains(tag[i:], "/") {
		return tag + ":latest"
	}
	return tag
}

// repoName is a tag without its ":TAG" part.
func repoName(tag string) string {
	t := normalTag(tag)
	return t[:strings.LastIndex(t, ":")]
}

// refName is the OCI layout's name for the image: the tag's TAG part.
func refName(tag string) string {
	if tag == "" {
		return "latest"
	}
	t := normalTag(tag)
	return t[strings.LastIndex(t, ":")+1:]
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ByteSize renders a byte count for people: 187.2 MiB, 48.0 KiB, 222 B.
func ByteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// DefaultCacheDir is where layer tars are kept between builds.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "nix-docker", "layers")
	}
	return filepath.Join(os.TempDir(), "nix-docker-layers")
}

// readMetadata reads the system path's image.json and the init's path.
func readMetadata(system string) (nixexpr.Metadata, string, error) {
	var meta nixexpr.Metadata
	b, err := os.ReadFile(filepath.Join(system, "image.json"))
	if err != nil {
		return meta, "", err
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return meta, "", fmt.Errorf("reading %s/image.json: %w", system, err)
	}
	initPath, err := os.Readlink(filepath.Join(system, "init"))
	if err != nil {
		return meta, "", fmt.Errorf("finding the init in %s: %w", system, err)
	}
	return meta, initPath, nil
}

// imageSpec lays out the image but for its store-path layers: the root
// entries the programs expect, and the config from the system path's
// image.json.
func imageSpec(system string, opts Options) (image.Spec, error) {
	meta, initPath, err := readMetadata(system)
	if err != nil {
		return image.Spec{}, err
	}
	spec := image.Spec{
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
			LabelSystem: system,
		},
		Created: opts.Created,
	}
	for k, v := range meta.Labels {
		spec.Labels[k] = v
	}
	spec.Extra = withLinks(spec.Extra, meta.Links)
	if meta.Health != nil {
		// The init answers whether every service is ready (docs/init.md).
		spec.Healthcheck = &image.Healthcheck{
			Command:     []string{initPath, "ctl", "health"},
			Interval:    5 * time.Second,
			Timeout:     5 * time.Second,
			StartPeriod: time.Duration(meta.Health.StartPeriod) * time.Second,
			Retries:     3,
		}
	}
	if opts.Tag != "" {
		spec.Labels[LabelName] = repoName(opts.Tag)
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

// Prune removes the untagged images nix-docker built for name (an image
// name without its tag): those whose LabelName is name.
func Prune(ctx context.Context, name string) (docker.PruneResult, error) {
	cli, err := docker.New()
	if err != nil {
		return docker.PruneResult{}, err
	}
	defer cli.Close()
	return docker.Prune(ctx, cli, LabelName, repoName(name))
}

// withLinks adds the app's root symlinks, and the directories above them,
// to the root entries; entries come out sorted by path.
func withLinks(entries []image.Entry, links map[string]string) []image.Entry {
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Path] = true
	}
	for p, target := range links {
		for dir := path.Dir(p); dir != "/" && !have[dir]; dir = path.Dir(dir) {
			have[dir] = true
			entries = append(entries, image.Entry{Path: dir, Mode: fs.ModeDir | 0o755})
		}
		if !have[p] {
			have[p] = true
			entries = append(entries, image.Entry{Path: p, Mode: fs.ModeSymlink | 0o777, Target: target})
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	return entries
}
