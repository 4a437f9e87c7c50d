package main

import (
	"context"
	"fmt"
	"io"

	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/output"
)

// describeEngine starts asking the engine what it is (docker.Describe,
// two requests) and choosing the way to load into it, beside the reading
// of the app file. ready waits for the answer and says how the image will
// load (on log, unless nil): the build calls it before Nix runs, so an
// engine that does not answer still stops it before any build.
func describeEngine(ctx context.Context, cli *docker.Traced, f buildFlags, bases []string) (o *output.Pending, ready func(log io.Writer) error) {
	var line string
	o = output.NewPending("engine", func() (output.Output, error) {
		e, err := docker.Describe(ctx, cli)
		if err != nil {
			return nil, err
		}
		out, how, err := output.ForEngine(cli, e, f.tag, bases, f.loadVia)
		if err != nil {
			return nil, err
		}
		line = fmt.Sprintf("engine: %s; loading via %s\n", e, how)
		return out, nil
	})
	return o, func(log io.Writer) error {
		if _, err := o.Wait(); err != nil {
			return err
		}
		if log != nil {
			fmt.Fprint(log, line)
		}
		return nil
	}
}
