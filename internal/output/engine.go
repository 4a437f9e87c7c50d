package output

import (
	"context"
	"fmt"

	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/image"
)

// Engine loads the image into a Docker engine and, on Commit, points a
// tag at it.
type Engine struct {
	client docker.Client
	tag    string
	bases  []string
	loaded string // the ID Deliver loaded
}

// NewEngine returns the output that loads into the engine c under tag.
// bases are images (the --from base) whose layers the engine holds.
func NewEngine(c docker.Client, tag string, bases []string) *Engine {
	return &Engine{client: c, tag: tag, bases: bases}
}

func (e *Engine) Name() string          { return "engine" }
func (e *Engine) NeedsBaseLayers() bool { return false }

// Deliver loads img untagged, sending only the layers the engine lacks:
// those of the image the tag names now and of the bases are left out.
func (e *Engine) Deliver(ctx context.Context, img *image.Image) (Report, error) {
	refs := e.bases
	if e.tag != "" {
		refs = append([]string{e.tag}, e.bases...)
	}
	res, err := docker.Load(ctx, e.client, img, "", refs)
	if err != nil {
		return Report{}, fmt.Errorf("loading %s: %w", e.tag, err)
	}
	e.loaded = res.ImageID
	r := Report{
		Output:        e.Name(),
		ImageID:       res.ImageID,
		Summary:       fmt.Sprintf("loaded %s as %s", res.ImageID, e.tag),
		Detail:        fmt.Sprintf("%d layers sent (%s), %d already in the engine", res.LayersSent, ByteSize(res.BytesSent), res.LayersSkipped),
		LayersSent:    res.LayersSent,
		LayersSkipped: res.LayersSkipped,
		BytesSent:     res.BytesSent,
	}
	if res.FullFallback {
		r.Fallback = "the engine refused a partial archive: sent the full one"
		r.Detail += " (" + r.Fallback + ")"
	}
	return r, nil
}

// Commit points the tag at the loaded image.
func (e *Engine) Commit(ctx context.Context) error {
	if e.tag == "" || e.loaded == "" {
		return nil
	}
	if err := e.client.ImageTag(ctx, e.loaded, e.tag); err != nil {
		return fmt.Errorf("tagging %s as %s: %w", e.loaded, e.tag, err)
	}
	return nil
}

// Abort leaves the untagged image to the engine: nothing names it, and
// `nix-docker prune` removes it.
func (e *Engine) Abort() {}
