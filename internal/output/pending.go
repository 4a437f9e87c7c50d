package output

import (
	"context"

	"github.com/nix-docker/nix-docker/internal/image"
)

// Pending is an output still being made, beside the build: the engine's,
// while the engine is asked what it is. Its methods wait for it; a
// failure to make it is each method's error.
type Pending struct {
	name string
	done chan struct{}
	out  Output
	err  error
}

// NewPending starts build in a goroutine; the output it returns is Name()
// name meanwhile.
func NewPending(name string, build func() (Output, error)) *Pending {
	p := &Pending{name: name, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.out, p.err = build()
	}()
	return p
}

// Wait waits for the output and returns it, or why it could not be made.
func (p *Pending) Wait() (Output, error) {
	<-p.done
	return p.out, p.err
}

func (p *Pending) Name() string { return p.name }

func (p *Pending) NeedsBaseLayers() bool {
	o, err := p.Wait()
	return err == nil && o.NeedsBaseLayers()
}

func (p *Pending) Deliver(ctx context.Context, img *image.Image) (Report, error) {
	o, err := p.Wait()
	if err != nil {
		return Report{}, err
	}
	return o.Deliver(ctx, img)
}

func (p *Pending) Commit(ctx context.Context) error {
	o, err := p.Wait()
	if err != nil {
		return err
	}
	return o.Commit(ctx)
}

func (p *Pending) Abort() {
	if o, err := p.Wait(); err == nil {
		o.Abort()
	}
}
