package docker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/nix-docker/nix-docker/internal/cachedir"
)

// LabelName is the label nix-docker writes into every image it builds
// (pipeline.LabelName): the image name without its tag. Holdings finds the
// engine's nix-docker images by it, whatever their tags.
const LabelName = "org.nix-docker.name"

// maxInspect bounds the images Holdings inspects one by one: those the
// ledger does not know (loaded from an archive, or built on another host).
const maxInspect = 8

// Ledger keeps, on this host, the layers (DiffIDs, bottom to top) of
// every image nix-docker loaded, by image ID: the engine's image list
// carries IDs and labels but not layers, and an inspect per image costs a
// request each on an engine with many images. A lost or unwritable ledger
// costs inspects, never a wrong answer: an image ID is the digest of a
// config that names its layers.
type Ledger struct {
	Dir string // "" keeps no ledger
}

// DefaultLedger is the ledger in nix-docker's cache root (cachedir.Root).
func DefaultLedger() Ledger {
	dir, err := cachedir.Root()
	if err != nil {
		return Ledger{}
	}
	return Ledger{Dir: filepath.Join(dir, "images")}
}

func (l Ledger) file(id string) string {
	hex, ok := strings.CutPrefix(id, "sha256:")
	if !ok || l.Dir == "" || strings.ContainsAny(hex, "/.") || hex == "" {
		return ""
	}
	return filepath.Join(l.Dir, hex)
}

// Record notes the layers of image id. Errors are ignored: the ledger is
// a cache.
func (l Ledger) Record(id string, diffIDs []string) {
	f := l.file(id)
	if f == "" || len(diffIDs) == 0 {
		return
	}
	if _, err := os.Stat(f); err == nil {
		return
	}
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(l.Dir, ".tmp-*")
	if err != nil {
		return
	}
	_, err = tmp.WriteString(strings.Join(diffIDs, "\n") + "\n")
	if cerr := tmp.Close(); err == nil && cerr == nil {
		err = os.Rename(tmp.Name(), f)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}

// Lookup returns the recorded layers of image id.
func (l Ledger) Lookup(id string) ([]string, bool) {
	f := l.file(id)
	if f == "" {
		return nil, false
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return nil, false
	}
	layers := strings.Fields(string(b))
	return layers, len(layers) > 0
}

// Holdings returns the layer chains (DiffIDs, bottom to top) of the
// images nix-docker built in the engine, whatever their tags: one image
// list filtered by LabelName, the layers from the ledger, and an inspect
// only for images the ledger does not know (at most maxInspect, newest
// first; they are recorded for next time).
func Holdings(ctx context.Context, c Client, ledger Ledger) ([][]string, error) {
	list, err := c.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelName))})
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Created != list[j].Created {
			return list[i].Created > list[j].Created
		}
		return list[i].ID < list[j].ID
	})
	var chains [][]string
	inspected := 0
	for _, img := range list {
		if layers, ok := ledger.Lookup(img.ID); ok {
			chains = append(chains, layers)
			continue
		}
		if inspected == maxInspect {
			continue
		}
		inspected++
		got, err := c.ImageInspect(ctx, img.ID)
		if err != nil {
			if isNotFound(err) { // removed since the list
				continue
			}
			return nil, fmt.Errorf("inspecting image %s: %w", img.ID, err)
		}
		ledger.Record(got.ID, got.RootFS.Layers)
		chains = append(chains, got.RootFS.Layers)
	}
	return chains, nil
}
