package pipeline

import (
	"context"
	"fmt"

	"github.com/nix-docker/nix-docker/internal/image"
	"github.com/nix-docker/nix-docker/internal/output"
)

// deliver is the last stage: every output gets the image, and only when
// all have it are they committed (tags move, files appear). When one
// fails, those that had it already are aborted. timed starts a step of
// the trace and returns its end.
func deliver(ctx context.Context, img *image.Image, outs []output.Output, timed func(string) func()) ([]output.Report, error) {
	reports := make([]output.Report, 0, len(outs))
	for i, o := range outs {
		end := timed("deliver to " + o.Name())
		rep, err := o.Deliver(ctx, img)
		end()
		if err != nil {
			abort(outs[:i])
			return nil, fmt.Errorf("%s: %w", o.Name(), err)
		}
		reports = append(reports, rep)
	}
	for i, o := range outs {
		end := timed("commit " + o.Name())
		err := o.Commit(ctx)
		end()
		if err != nil {
			abort(outs[i:])
			return nil, fmt.Errorf("%s: %w", o.Name(), err)
		}
	}
	return reports, nil
}

func abort(outs []output.Output) {
	for _, o := range outs {
		o.Abort()
	}
}
