package output

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/image"
	"github.com/nix-docker/nix-docker/internal/oci"
)

// EngineClient is what loading into an engine needs of the Engine API:
// archive loads, pulls, inspect, tag and remove.
type EngineClient interface {
	docker.Client
	docker.Puller
}

// Loopback loads the image into an engine by having the engine pull it
// from a registry nix-docker serves on 127.0.0.1 for the length of the
// load, so that the engine fetches only the blobs it lacks, whatever its
// image store. The image is pulled under a temporary name, checked
// against the plan, and tagged on Commit. If the pull fails or the engine
// then holds something else, the full docker-archive is sent instead.
type Loopback struct {
	client   EngineClient
	engine   docker.Engine
	tag      string
	loaded   pending
	fallback *Engine // the full archive, when the pull did not do
}

// NewLoopback returns the output that loads into the engine c, described
// by e, through a loopback registry, under tag.
func NewLoopback(c EngineClient, e docker.Engine, tag string) *Loopback {
	return &Loopback{client: c, engine: e, tag: tag}
}

func (l *Loopback) Name() string { return "engine" }

// NeedsBaseLayers: the manifest lists the base's layers by their
// compressed digests, which only their bytes give.
func (l *Loopback) NeedsBaseLayers() bool { return true }

// Method names the way Deliver sends the image.
func (l *Loopback) Method() string { return "the loopback registry" }

// Deliver serves img, has the engine pull it and verifies the result; on
// failure it sends the full archive.
func (l *Loopback) Deliver(ctx context.Context, img *image.Image) (Report, error) {
	start := time.Now()
	rep, err := l.pull(ctx, img, start)
	if err == nil {
		return rep, nil
	}
	if ctx.Err() != nil {
		return Report{}, err
	}
	l.fallback = NewEngine(l.client, l.engine, l.tag, nil, true)
	rep, ferr := l.fallback.Deliver(ctx, img)
	if ferr != nil {
		return Report{}, fmt.Errorf("%w (the pull from the loopback registry failed before: %v)", ferr, err)
	}
	fallback := "the pull from the loopback registry failed (" + err.Error() + "): sent the full docker-archive"
	return loadReport(rep.ImageID, l.tag, rep.LayersSent, rep.LayersSkipped, rep.BytesSent, l.fallback.Method(), time.Since(start), fallback), nil
}

// pull serves img until the engine has pulled it, and verifies what the
// engine holds.
func (l *Loopback) pull(ctx context.Context, img *image.Image, start time.Time) (Report, error) {
	// A layer compressed to learn its digest is kept, for the length of
	// the load, to be sent from the file rather than compressed again
	// (the spool prune knows, as a push's).
	spoolDir := DefaultSpoolDir()
	os.MkdirAll(spoolDir, 0o755)
	spool, err := os.MkdirTemp(spoolDir, SpoolPrefix+"load-*")
	if err != nil {
		return Report{}, fmt.Errorf("making the load's spool: %w", err)
	}
	defer os.RemoveAll(spool)
	v, err := oci.Image(img, oci.Options{Spool: spool})
	if err != nil {
		return Report{}, err
	}
	reg, err := serveImage(v, docker.TempRepository, docker.TempTag(img.ID()))
	if err != nil {
		return Report{}, err
	}
	defer reg.Close()
	ref := reg.Ref()
	want := expectFor(img, l.engine)
	want.ManifestDigest = reg.manifestDigest
	err = docker.Pull(ctx, l.client, l.engine, ref, reg.creds)
	var id string
	if err == nil {
		id, err = docker.Verify(ctx, l.client, ref, want)
	}
	if err != nil {
		docker.RemoveRef(context.WithoutCancel(ctx), l.client, ref)
		return Report{}, err
	}
	l.loaded = pending{id: id, ref: ref}
	fetched, bytes := reg.Fetched()
	docker.DefaultLedger().Record(id, img.DiffIDs())
	return loadReport(id, l.tag, fetched, len(img.Layers)-fetched, bytes, l.Method(), time.Since(start), ""), nil
}

// Commit points the tag at the pulled image and removes its temporary
// name.
func (l *Loopback) Commit(ctx context.Context) error {
	if l.fallback != nil {
		return l.fallback.Commit(ctx)
	}
	return l.loaded.commit(ctx, l.client, l.tag)
}

// Abort removes the temporary name.
func (l *Loopback) Abort() {
	if l.fallback != nil {
		l.fallback.Abort()
	}
	l.loaded.abort(l.client)
}
