package docker

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Prober is the part of the Engine API MissingPaths uses: a container is
// created (never started) so that paths in the image can be looked up
// without reading its layers.
type Prober interface {
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStatPath(ctx context.Context, containerID, path string) (container.PathStat, error)
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
}

var _ Prober = (*client.Client)(nil)

// MissingPaths returns the paths of paths that image imageID lacks. It
// creates a container of the image, never started and without a
// network, looks each path up in it, and removes it.
func MissingPaths(ctx context.Context, c Prober, imageID string, paths []string) ([]string, error) {
	created, err := c.ContainerCreate(ctx, &container.Config{
		Image:           imageID,
		Entrypoint:      []string{"/nix-docker-probe-never-runs"},
		NetworkDisabled: true,
	}, nil, nil, nil, "")
	if err != nil {
		return nil, fmt.Errorf("creating a container of %s to check its store paths: %w", imageID, err)
	}
	defer c.ContainerRemove(context.WithoutCancel(ctx), created.ID, container.RemoveOptions{Force: true})
	var missing []string
	for _, p := range paths {
		if _, err := c.ContainerStatPath(ctx, created.ID, p); err != nil {
			if !cerrdefs.IsNotFound(err) {
				return nil, fmt.Errorf("looking up %s in %s: %w", p, imageID, err)
			}
			missing = append(missing, p)
		}
	}
	return missing, nil
}
