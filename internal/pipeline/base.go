package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/image"
	"github.com/nix-docker/nix-docker/internal/output"
)

// Engine is what --from asks of the Docker engine: the base image's
// description, and its layers when they must be read.
type Engine interface {
	docker.Inspector
	docker.Saver
}

// baseImage is the --from image as the plan and write stages need it.
type baseImage struct {
	Layers []image.Layer // bottom to top; File is "" when no output needs the tars
	Paths  []string      // the store paths it holds, sorted
}

// needsBaseLayers tells whether any output reads the base's layer tars.
func needsBaseLayers(outs []output.Output) bool {
	for _, o := range outs {
		if o.NeedsBaseLayers() {
			return true
		}
	}
	return false
}

// fetchBase reads the --from image: its layers, and the store paths it
// holds from its store-paths label, or else by listing /nix/store in its
// layers. It asks the engine for the layers' tars only when it must: no
// label, or withFiles (an output needs them) and they are not in the
// cache from an earlier build.
func (r *run) fetchBase(ctx context.Context, withFiles bool) (baseImage, error) {
	if r.opts.From == "" {
		return baseImage{}, nil
	}
	if r.engine == nil {
		return baseImage{}, errors.New("--from needs a Docker engine")
	}
	b, err := docker.Base(ctx, r.engine, r.opts.From)
	if err != nil {
		return baseImage{}, err
	}
	var out baseImage
	label, hasLabel := b.Labels[LabelStorePaths]
	if hasLabel && !withFiles {
		out.Paths = strings.Fields(label)
		for _, d := range b.DiffIDs {
			out.Layers = append(out.Layers, image.Layer{DiffID: d})
		}
		return out, nil
	}
	saved, cached := docker.CachedLayers(b, r.bases)
	if !cached || !hasLabel {
		r.logf("reading the layers of %s from the engine", r.opts.From)
		if saved, err = docker.SaveLayers(ctx, r.engine, b.ID, r.bases); err != nil {
			return baseImage{}, err
		}
	}
	boundBases(r.bases, saved)
	byID := map[string]docker.SavedLayer{}
	seen := map[string]bool{}
	for _, l := range saved {
		byID[l.DiffID] = l
		for _, p := range l.StorePaths {
			if !seen[p] {
				seen[p] = true
				out.Paths = append(out.Paths, p)
			}
		}
	}
	for _, d := range b.DiffIDs {
		l, ok := byID[d]
		if !ok {
			return baseImage{}, fmt.Errorf("the saved image %s lacks its layer %s", r.opts.From, d)
		}
		out.Layers = append(out.Layers, image.Layer{DiffID: d, File: l.File, Size: l.Size})
	}
	if hasLabel {
		out.Paths = strings.Fields(label)
	}
	sort.Strings(out.Paths)
	return out, nil
}

// MaxBaseBytes bounds the saved layers of --from bases: past it, the tars
// used longest ago go (a later build saves them again from the engine).
const MaxBaseBytes = 4 << 30

// boundBases marks the layers in use as used now and removes the tars
// used longest ago past MaxBaseBytes, never one in use.
func boundBases(dir string, inUse []docker.SavedLayer) {
	now := time.Now()
	keep := map[string]bool{}
	for _, l := range inUse {
		keep[l.File] = true
		os.Chtimes(l.File, now, now)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type file struct {
		name string
		used time.Time
		size int64
	}
	var files []file
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			files = append(files, file{filepath.Join(dir, e.Name()), info.ModTime(), info.Size()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].used.After(files[j].used) })
	var total int64
	for _, f := range files {
		total += f.size
		if total > MaxBaseBytes && !keep[f.name] {
			os.Remove(f.name)
		}
	}
}
