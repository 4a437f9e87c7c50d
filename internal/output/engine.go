package output

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/image"
)

// Engine loads the image into a Docker engine (or Podman) as a
// docker-archive and, on Commit, points a tag at it.
type Engine struct {
	client docker.Client
	engine docker.Engine
	tag    string
	bases  []string
	full   bool
	loaded pending
}

// NewEngine returns the output that loads into the engine c, described by
// e, under tag. bases are images (the --from base) whose layers the
// engine holds. full sends every layer; otherwise the layers the engine
// holds are left out, and the full archive is sent if the engine refuses
// that.
func NewEngine(c docker.Client, e docker.Engine, tag string, bases []string, full bool) *Engine {
	return &Engine{client: c, engine: e, tag: tag, bases: bases, full: full}
}

func (e *Engine) Name() string { return "engine" }

// NeedsBaseLayers: a full archive holds the base's layers too; only the
// classic store takes an archive without them.
func (e *Engine) NeedsBaseLayers() bool { return e.full || e.engine.Store != docker.StoreClassic }

// Method names the way Deliver sends the image.
func (e *Engine) Method() string {
	if e.full {
		return "the full docker-archive"
	}
	return "the partial docker-archive"
}

// Deliver loads img under a temporary name, sending only the layers the
// engine lacks (those of the image the tag names now and of the bases
// are left out), and checks what the engine then holds against the plan.
func (e *Engine) Deliver(ctx context.Context, img *image.Image) (Report, error) {
	start := time.Now()
	refs := e.bases
	if e.tag != "" {
		refs = append([]string{e.tag}, e.bases...)
	}
	res, err := docker.Load(ctx, e.client, img, docker.LoadOptions{Holders: refs, Full: e.full, Expect: expectFor(img, e.engine), Ledger: docker.DefaultLedger()})
	if err != nil {
		return Report{}, fmt.Errorf("loading %s: %w", e.tag, err)
	}
	e.loaded = pending{id: res.ImageID, ref: res.Ref, tagged: res.Ref == "" && e.tag != "" && slices.Contains(res.Tags, NormalTag(e.tag))}
	fallback := ""
	if res.FullFallback {
		fallback = "the partial archive failed (" + res.Retried + "): sent the full one"
	}
	return loadReport(res.ImageID, e.tag, res.LayersSent, res.LayersSkipped, res.BytesSent, e.Method(), time.Since(start), fallback), nil
}

// loadReport is the report of a load into the engine: what crossed, the
// way it went, how long the load took, and the fallback taken if any.
func loadReport(id, tag string, sent, skipped int, bytes int64, method string, took time.Duration, fallback string) Report {
	r := Report{
		Output:        "engine",
		ImageID:       id,
		Summary:       fmt.Sprintf("loaded %s as %s", id, tag),
		Detail:        fmt.Sprintf("%s sent (%s), %d already in the engine; via %s in %.1fs", Layers(sent), ByteSize(bytes), skipped, method, took.Seconds()),
		LayersSent:    sent,
		LayersSkipped: skipped,
		BytesSent:     bytes,
		Fallback:      fallback,
	}
	if fallback != "" {
		r.Detail += "; " + fallback
	}
	return r
}

// expectFor is what the engine must hold after loading img.
func expectFor(img *image.Image, e docker.Engine) docker.Expect {
	return docker.Expect{ConfigDigest: img.ID(), DiffIDs: img.DiffIDs(), Config: img.Config, AnyID: !e.IDIsConfigDigest()}
}

// Commit points the tag at the loaded image and removes its temporary
// name.
func (e *Engine) Commit(ctx context.Context) error { return e.loaded.commit(ctx, e.client, e.tag) }

// Abort removes the loaded image's temporary name (and with it the image,
// unless something else names it).
func (e *Engine) Abort() { e.loaded.abort(e.client) }

// pending is an image an engine holds, verified, under a temporary name
// (ref), or by its ID alone when the engine held it before; tagged when
// the tag named it already then (a rebuild without a change), which
// commit checks again.
type pending struct {
	id, ref string
	tagged  bool
}

// tagger is the part of the Engine API commit uses.
type tagger interface {
	ImageTag(ctx context.Context, source, target string) error
	docker.Inspector
	docker.Remover
}

// commit tags the image as tag, by its temporary name (which the engine
// surely knows: an engine may name an image by a digest nix-docker never
// saw), then takes the temporary name off. An image the tag named at
// Deliver is not tagged again if the tag names it still (one inspect):
// another build may have moved the tag since.
func (p *pending) commit(ctx context.Context, c tagger, tag string) error {
	src := p.ref
	if src == "" {
		src = p.id
	}
	if tag == "" || src == "" {
		return nil
	}
	if p.tagged && p.ref == "" {
		if got, err := c.ImageInspect(ctx, NormalTag(tag)); err == nil && got.ID == p.id {
			return nil
		}
	}
	if err := c.ImageTag(ctx, src, NormalTag(tag)); err != nil {
		return fmt.Errorf("tagging %s as %s: %w", p.id, tag, err)
	}
	if p.ref != "" {
		if err := docker.RemoveRef(ctx, c, p.ref); err != nil {
			return fmt.Errorf("removing the temporary name %s (%s is tagged): %w", p.ref, tag, err)
		}
		p.ref = ""
	}
	return nil
}

// abort removes the temporary name, if any.
func (p *pending) abort(c docker.Remover) {
	if p.ref != "" {
		docker.RemoveRef(context.Background(), c, p.ref)
		p.ref = ""
	}
}
