package docker

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/docker/docker/api/types/image"
)

type fakePruner struct {
	images  []image.Summary
	inUse   map[string]bool
	removed []string
}

func (f *fakePruner) ImageList(_ context.Context, opts image.ListOptions) ([]image.Summary, error) {
	// Like the engine: the label filter applies.
	var out []image.Summary
	for _, img := range f.images {
		for _, l := range opts.Filters.Get("label") {
			if k, v := "org.nix-docker.name", "app"; l == k+"="+v && img.Labels[k] == v {
				out = append(out, img)
			}
		}
	}
	return out, nil
}

func (f *fakePruner) ImageRemove(_ context.Context, id string, _ image.RemoveOptions) ([]image.DeleteResponse, error) {
	if f.inUse[id] {
		return nil, errors.New("conflict: image is being used by a stopped container")
	}
	f.removed = append(f.removed, id)
	return nil, nil
}

func TestPrune(t *testing.T) {
	app := map[string]string{"org.nix-docker.name": "app"}
	f := &fakePruner{
		images: []image.Summary{
			{ID: "sha256:c-old", Labels: app},
			{ID: "sha256:a-current", Labels: app, RepoTags: []string{"app:latest"}},
			{ID: "sha256:b-old", Labels: app, RepoTags: []string{"<none>:<none>"}},
			{ID: "sha256:d-used", Labels: app},
			{ID: "sha256:e-other", Labels: map[string]string{"org.nix-docker.name": "other"}},
			{ID: "sha256:f-plain"},
			// Left by a build killed between load and tag.
			{ID: "sha256:g-leftover", Labels: app, RepoTags: []string{"localhost/nix-docker-load:0123-4567"}},
		},
		inUse: map[string]bool{"sha256:d-used": true},
	}
	res, err := Prune(context.Background(), f, "org.nix-docker.name", "app")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"sha256:b-old", "sha256:c-old", "sha256:g-leftover"}; !reflect.DeepEqual(res.Removed, want) {
		t.Errorf("Prune removed %v, want %v", res.Removed, want)
	}
	if len(res.Kept) != 1 || res.Kept[0].ID != "sha256:d-used" || res.Kept[0].Reason == "" {
		t.Errorf("Prune kept %v, want the image in use only", res.Kept)
	}
}
