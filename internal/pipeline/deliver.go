package pipeline

import (
	"context"
	"fmt"

	"github.com/nix-docker/nix-docker/internal/image"
	"github.com/nix-docker/nix-docker/internal/output"
)

// deliver is the last stage: every output gets the image, and only when
// all have it are they committed (tags move, files appear). When one
// fails, those that had it already are aborted.
func deliver(ctx context.Context, img *image.Image, outs []output.Output) ([]output.Report, error) {
	reports := make([]output.Report, 0, len(outs))
	for i, o := range outs {
		rep, err := o.Deliver(ctx, img)
		if err != nil {
			abort(outs[:i])
			return nil, fmt.Errorf("%s: %w", o.Name(), err)
		}
		reports = append(reports, rep)
	}
	for i, o := range outs {
		if err := o.Commit(ctx); err != nil {
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
