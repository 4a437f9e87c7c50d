package pipeline

import (
	"fmt"
	"sort"

	"github.com/nix-docker/nix-docker/internal/layers"
)

// layerPlan is which store paths go in which of the image's own layers.
type layerPlan struct {
	Layers     [][]string // store paths per layer, bottom to top
	StorePaths []string   // every store path the image holds, the base's included, sorted
	NewPaths   int        // store paths in the image's own layers
}

// planLayers is the fourth stage: the closure less what the base holds,
// grouped into at most MaxLayers layers with the base's layers. The root
// filesystem's entries ride in the top layer, with the system path they
// link into (image.Spec.ExtraInTop), so they take no layer of their own
// (but when the base holds every path).
func (r *run) planLayers(sys realised, base baseImage) (layerPlan, error) {
	max := r.opts.MaxLayers
	if max <= 0 {
		max = DefaultMaxLayers
	}
	have := map[string]bool{}
	for _, p := range base.Paths {
		have[p] = true
	}
	fromApp := map[string]bool{}
	for _, p := range sys.Meta.FromApp {
		fromApp[p] = true
	}
	all := map[string]bool{}
	var paths []layers.StorePath
	for _, c := range sys.Closure {
		all[c.Path] = true
		if !have[c.Path] {
			paths = append(paths, layers.StorePath{Path: c.Path, NarSize: c.NarSize, References: c.References, FromApp: fromApp[c.Path]})
		}
	}
	for _, p := range base.Paths {
		all[p] = true
	}
	// The base's layers count too; the app's layers, or the root
	// filesystem's alone, need at least one more.
	room := max - len(base.Layers)
	if room < 1 {
		return layerPlan{}, fmt.Errorf("the base image %s has %d layers: with at most %d layers (--max-layers) no room is left for the app's", r.opts.From, len(base.Layers), max)
	}
	plan := layerPlan{Layers: layers.Plan(paths, []string{sys.System}, room), NewPaths: len(paths)}
	for p := range all {
		plan.StorePaths = append(plan.StorePaths, p)
	}
	sort.Strings(plan.StorePaths)
	if r.opts.From != "" {
		r.logf("base %s: %d layers, %d store paths", r.opts.From, len(base.Layers), len(base.Paths))
	}
	return plan, nil
}
