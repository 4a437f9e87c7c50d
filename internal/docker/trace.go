package docker

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
)

// TraceFunc receives one timed step: what it was and how long it took.
type TraceFunc func(what string, took time.Duration)

// Traced is an Engine API client that reports each request nix-docker
// makes, and how long the engine took to answer it (for a load or a
// pull, until the engine's answer was read to its end), to Trace. A nil
// Trace reports nothing. It is what NIX_DOCKER_TRACE shows of the
// engine.
type Traced struct {
	*client.Client
	Trace TraceFunc
}

func (t *Traced) done(what string, start time.Time) {
	if t.Trace != nil {
		t.Trace("engine: "+what, time.Since(start))
	}
}

// ServerVersion is GET /version.
func (t *Traced) ServerVersion(ctx context.Context) (types.Version, error) {
	defer t.done("version", time.Now())
	return t.Client.ServerVersion(ctx)
}

// Info is GET /info.
func (t *Traced) Info(ctx context.Context) (system.Info, error) {
	defer t.done("info", time.Now())
	return t.Client.Info(ctx)
}

// ImageInspect is GET /images/REF/json.
func (t *Traced) ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error) {
	defer t.done("inspect "+ref, time.Now())
	return t.Client.ImageInspect(ctx, ref, opts...)
}

// ImageList is GET /images/json.
func (t *Traced) ImageList(ctx context.Context, opts image.ListOptions) ([]image.Summary, error) {
	defer t.done("list images", time.Now())
	return t.Client.ImageList(ctx, opts)
}

// ImageTag is POST /images/REF/tag.
func (t *Traced) ImageTag(ctx context.Context, source, target string) error {
	defer t.done("tag "+source+" as "+target, time.Now())
	return t.Client.ImageTag(ctx, source, target)
}

// ImageRemove is DELETE /images/REF.
func (t *Traced) ImageRemove(ctx context.Context, ref string, opts image.RemoveOptions) ([]image.DeleteResponse, error) {
	defer t.done("remove "+ref, time.Now())
	return t.Client.ImageRemove(ctx, ref, opts)
}

// ImageLoad is POST /images/load; the step ends when the engine's answer
// has been read.
func (t *Traced) ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (image.LoadResponse, error) {
	start := time.Now()
	resp, err := t.Client.ImageLoad(ctx, input, opts...)
	if err != nil {
		t.done("load (refused)", start)
		return resp, err
	}
	resp.Body = &tracedBody{ReadCloser: resp.Body, end: func() { t.done("load", start) }}
	return resp, nil
}

// ImagePull is POST /images/create; the step ends when the engine's
// answer has been read.
func (t *Traced) ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := t.Client.ImagePull(ctx, ref, opts)
	if err != nil {
		t.done("pull "+ref+" (refused)", start)
		return rc, err
	}
	return &tracedBody{ReadCloser: rc, end: func() { t.done("pull "+ref, start) }}, nil
}

// ImageSave is GET /images/get; the step ends when the archive has been
// read.
func (t *Traced) ImageSave(ctx context.Context, refs []string, opts ...client.ImageSaveOption) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := t.Client.ImageSave(ctx, refs, opts...)
	if err != nil {
		return rc, err
	}
	return &tracedBody{ReadCloser: rc, end: func() { t.done("save", start) }}, nil
}

// tracedBody reports the end of a response once, when it is closed.
type tracedBody struct {
	io.ReadCloser
	once sync.Once
	end  func()
}

func (b *tracedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.end)
	return err
}
