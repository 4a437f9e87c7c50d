package pipeline

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/nix-docker/nix-docker/internal/contract"
	"github.com/nix-docker/nix-docker/internal/image"
	"github.com/nix-docker/nix-docker/internal/output"
	"github.com/nix-docker/nix-docker/internal/project"
)

// writeImage is the fifth stage: the layer tars (from the cache when it
// has them) and the image config.
func (r *run) writeImage(p *project.Project, sys realised, base baseImage, plan layerPlan) (*image.Image, error) {
	spec, err := r.imageSpec(p, sys)
	if err != nil {
		return nil, err
	}
	spec.Base, spec.BasePaths, spec.Layers = base.Layers, base.Paths, plan.Layers
	spec.Labels[LabelStorePaths] = strings.Join(plan.StorePaths, "\n")
	img, err := image.Build(spec, r.cache)
	if err != nil {
		return nil, fmt.Errorf("writing image: %w", err)
	}
	written, bytes := img.Written()
	own := len(img.Layers) - len(spec.Base)
	r.logf("layers: %d for %d store paths and the root filesystem: %d written (%s), %d from the cache; %d from the base",
		own, plan.NewPaths, written, output.ByteSize(bytes), own-written, len(spec.Base))
	return img, nil
}

// defaultPath is the image's PATH unless the app sets its own.
const defaultPath = "PATH=/usr/bin:/bin"

// imageSpec lays out the image but for its store-path layers: the root
// entries the programs expect, and the config. Settings come from the
// project; values naming store paths from what Nix resolved.
func (r *run) imageSpec(p *project.Project, sys realised) (image.Spec, error) {
	env, err := imageEnv(p, sys.Meta)
	if err != nil {
		return image.Spec{}, err
	}
	links, err := imageLinks(p, sys.Meta)
	if err != nil {
		return image.Spec{}, err
	}
	// The platform is the Nix system that built the closure.
	platform, err := image.PlatformOf(sys.Meta.System)
	if err != nil {
		return image.Spec{}, err
	}
	spec := image.Spec{
		Extra: withLinks(rootEntries(sys.System), links),
		// The root entries link into the system path, which changes
		// with every change to the app: they go in the app's layer, so a
		// change to the app sends that one layer.
		ExtraInTop: true,
		Entrypoint: []string{sys.Init, sys.System + "/" + contract.RunspecFile},
		Env:        env,
		Volumes:    p.Volumes,
		Labels:     map[string]string{LabelSystem: sys.System},
		Created:    r.opts.Created,
		Root:       r.root,
		Platform:   platform,
	}
	if p.Nixpkgs != nil {
		spec.Labels[LabelNixpkgs] = p.Nixpkgs.String()
	}
	if r.opts.Tag != "" {
		spec.Labels[LabelName] = output.Repository(r.opts.Tag)
	}
	if start, ok := p.Health(); ok {
		// The init answers whether every service is ready (docs/init.md).
		spec.Healthcheck = &image.Healthcheck{
			Command:     []string{sys.Init, "ctl", "health"},
			Interval:    5 * time.Second,
			Timeout:     5 * time.Second,
			StartPeriod: start,
			Retries:     3,
		}
	}
	for _, port := range p.Ports {
		spec.ExposedPorts = append(spec.ExposedPorts, fmt.Sprintf("%d/tcp", port))
	}
	return spec, nil
}

// imageEnv is the image's environment: PATH, unless the app sets its
// own, then the app's variables in name order.
func imageEnv(p *project.Project, meta contract.Metadata) ([]string, error) {
	env := []string{defaultPath}
	for _, e := range p.Env {
		v := e.Value
		if p.HasRefs(v) {
			var ok bool
			if v, ok = meta.Env[e.Name]; !ok {
				return nil, fmt.Errorf("the system path's %s lacks the environment variable %s", contract.MetadataFile, e.Name)
			}
		}
		if e.Name == "PATH" {
			env = env[1:]
		}
		env = append(env, e.Name+"="+v)
	}
	return env, nil
}

// imageLinks are the app's root symlinks, path -> target.
func imageLinks(p *project.Project, meta contract.Metadata) (map[string]string, error) {
	links := map[string]string{}
	for _, l := range p.Links {
		t := l.Target
		if p.HasRefs(t) {
			var ok bool
			if t, ok = meta.Links[l.Path]; !ok {
				return nil, fmt.Errorf("the system path's %s lacks the link %s", contract.MetadataFile, l.Path)
			}
		}
		links[l.Path] = t
	}
	return links, nil
}

// rootEntries are the image's files outside the store: /etc's account
// files link into the system path; /run and /tmp exist.
func rootEntries(system string) []image.Entry {
	entries := []image.Entry{
		{Path: "/etc", Mode: fs.ModeDir | 0o755},
		{Path: "/run", Mode: fs.ModeDir | 0o755},
		{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
	}
	for _, f := range contract.EtcFiles {
		entries = append(entries, image.Entry{Path: "/" + f, Mode: fs.ModeSymlink | 0o777, Target: system + "/" + f})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	return entries
}

// withLinks adds the app's root symlinks, and the directories above them,
// to the root entries; entries come out sorted by path.
func withLinks(entries []image.Entry, links map[string]string) []image.Entry {
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Path] = true
	}
	paths := make([]string, 0, len(links))
	for p := range links {
		paths = append(paths, p)
	}
	sort.Strings(paths) // the project refuses overlapping links; the order is fixed anyway
	for _, p := range paths {
		target := links[p]
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
