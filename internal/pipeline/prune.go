package pipeline

import (
	"context"

	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/output"
)

// Prune removes the untagged images nix-docker built for name (an image
// name; a tag, if any, is ignored): those whose LabelName is name.
func Prune(ctx context.Context, c docker.Pruner, name string) (docker.PruneResult, error) {
	return docker.Prune(ctx, c, LabelName, output.Repository(name))
}
