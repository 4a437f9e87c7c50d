package main

import (
	"context"
	"fmt"
	"io"

	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/image"
	"github.com/nix-docker/nix-docker/internal/output"
)

// laterEngine is the engine output while the engine is still being
// asked what it is (docker.Describe, two requests): they go beside the
// reading of the app file, and the build waits for them (ready) before
// Nix runs, so an unreachable engine still stops it before any build.
type laterEngine struct {
	done chan struct{}
	out  output.Output
	line string // "engine: ...; loading via ...", printed by ready
	err  error
}

// describeEngine starts asking the engine what it is and choosing the
// way to load into it.
func describeEngine(ctx context.Context, cli *docker.Traced, f buildFlags, bases []string) *laterEngine {
	l := &laterEngine{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		e, err := docker.Describe(ctx, cli)
		if err != nil {
			l.err = err
			return
		}
		o, how, err := output.ForEngine(cli, e, f.tag, bases, f.loadVia)
		if err != nil {
			l.err = err
			return
		}
		l.out, l.line = o, fmt.Sprintf("engine: %s; loading via %s\n", e, how)
	}()
	return l
}

// ready waits for the engine's answers and says how the image will load
// (on log, unless nil).
func (l *laterEngine) ready(log io.Writer) error {
	<-l.done
	if l.err == nil && log != nil {
		fmt.Fprint(log, l.line)
		l.line = ""
	}
	return l.err
}

func (l *laterEngine) Name() string { return "engine" }

func (l *laterEngine) NeedsBaseLayers() bool {
	<-l.done
	return l.err == nil && l.out.NeedsBaseLayers()
}

func (l *laterEngine) Deliver(ctx context.Context, img *image.Image) (output.Report, error) {
	<-l.done
	if l.err != nil {
		return output.Report{}, l.err
	}
	return l.out.Deliver(ctx, img)
}

func (l *laterEngine) Commit(ctx context.Context) error {
	<-l.done
	if l.err != nil {
		return l.err
	}
	return l.out.Commit(ctx)
}

func (l *laterEngine) Abort() {
	<-l.done
	if l.err == nil {
		l.out.Abort()
	}
}
