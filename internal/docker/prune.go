package docker

import (
	"context"
	"fmt"
	"sort"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
)

// Pruner is the part of the Engine API Prune uses.
type Pruner interface {
	ImageList(ctx context.Context, opts image.ListOptions) ([]image.Summary, error)
	ImageRemove(ctx context.Context, imageID string, opts image.RemoveOptions) ([]image.DeleteResponse, error)
}

// PruneResult says what Prune did, in image ID order.
type PruneResult struct {
	Removed []string // image IDs removed
	Kept    []Kept   // images that could not be removed (a container uses them)
}

// Kept is an image Prune could not remove, and why.
type Kept struct {
	ID     string
	Reason string
}

// Prune removes the untagged images whose label key has the value value.
// Tagged images and images of other labels are left alone; an image a
// container still uses is kept and reported (nothing is forced). A name
// under TempRepository, left by a build that was killed between loading
// and tagging, does not count as a tag.
func Prune(ctx context.Context, c Pruner, key, value string) (PruneResult, error) {
	var res PruneResult
	list, err := c.ImageList(ctx, image.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", key+"="+value))})
	if err != nil {
		return res, fmt.Errorf("listing images: %w", err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	for _, img := range list {
		if img.Labels[key] != value || tagged(img.RepoTags) {
			continue
		}
		if _, err := c.ImageRemove(ctx, img.ID, image.RemoveOptions{PruneChildren: true}); err != nil {
			res.Kept = append(res.Kept, Kept{ID: img.ID, Reason: err.Error()})
			continue
		}
		res.Removed = append(res.Removed, img.ID)
	}
	return res, nil
}

func tagged(tags []string) bool {
	for _, t := range tags {
		if t != "<none>:<none>" && !IsTemporary(t) {
			return true
		}
	}
	return false
}
