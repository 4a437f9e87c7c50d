package image

import (
	"encoding/json"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// TestExtraInTop: with ExtraInTop the root entries go into the topmost
// store-path layer, before its store paths, and take no layer of their
// own; the layers below are the same as without; a change to an entry
// changes the top layer only; the cache knows the merged layer by its
// paths and its entries.
func TestExtraInTop(t *testing.T) {
	root := fakeStore(t)
	cache := t.TempDir()
	apart, err := Build(testSpec(root), cache)
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec(root)
	spec.ExtraInTop = true
	img, err := Build(spec, cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 2 {
		t.Fatalf("Build with ExtraInTop: %d layers, want 2", len(img.Layers))
	}
	if img.Layers[0].DiffID != apart.Layers[0].DiffID || !img.Layers[0].Cached || img.Layers[0].Extra {
		t.Errorf("bottom layer %+v, want the same as without ExtraInTop (%s), from the cache, without the entries", img.Layers[0], apart.Layers[0].DiffID)
	}
	top := img.Layers[1]
	if top.DiffID == apart.Layers[1].DiffID || top.Cached || !top.Extra || strings.Join(top.Paths, " ") != appPath {
		t.Errorf("top layer %+v, want a new layer holding %s and the entries", top, appPath)
	}
	var names []string
	for _, e := range readLayer(t, top) {
		names = append(names, e.hdr.Name)
	}
	want := []string{"etc/", "etc/hostname", "etc/passwd", "tmp/", "nix/", "nix/store/", appPath[1:] + "/"}
	if len(names) < len(want) || strings.Join(names[:len(want)], " ") != strings.Join(want, " ") {
		t.Errorf("top layer entries %q, want them to start with %q", names, want)
	}
	if n := len(names); n != 4+len(readLayer(t, apart.Layers[1])) {
		t.Errorf("top layer has %d entries, want the root entries' 4 and the app layer's %d", n, len(readLayer(t, apart.Layers[1])))
	}
	if got := layerHistory(t, img); !strings.HasPrefix(got[1], "nix-docker: the root filesystem and "+appPath) {
		t.Errorf("history %q, want the top layer described as the root filesystem and %s", got, appPath)
	}

	// Again from the cache, with the store gone: the same image.
	moved := root + ".moved"
	if err := os.Rename(root, moved); err != nil {
		t.Fatal(err)
	}
	again, err := Build(spec, cache)
	os.Rename(moved, root)
	if err != nil {
		t.Fatalf("Build from the cache: %v", err)
	}
	if again.ID() != img.ID() || !again.Layers[1].Cached {
		t.Errorf("Build from the cache: ID %s (top cached %v), want %s from the cache", again.ID(), again.Layers[1].Cached, img.ID())
	}

	// Another entry: the top layer changes, not the one below.
	spec.Extra = append(spec.Extra, Entry{Path: "/run", Mode: fs.ModeDir | 0o755})
	changed, err := Build(spec, cache)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Layers[0].DiffID != img.Layers[0].DiffID || changed.Layers[1].DiffID == img.Layers[1].DiffID || changed.Layers[1].Cached {
		t.Errorf("another entry: layers %v, want %s kept and a new top layer (not from the cache)", changed.DiffIDs(), img.Layers[0].DiffID)
	}

	// Without store-path layers, the entries are a layer of their own.
	spec.Layers, spec.Extra = nil, spec.Extra[:1] // /tmp: nothing links into a store path
	alone, err := Build(spec, cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(alone.Layers) != 1 || !alone.Layers[0].Extra || len(alone.Layers[0].Paths) != 0 {
		t.Errorf("ExtraInTop without Layers: %+v, want one layer of the entries", alone.Layers)
	}
}

// layerHistory is the image config's created_by of each layer.
func layerHistory(t *testing.T, img *Image) []string {
	t.Helper()
	var cfg struct {
		History []struct {
			CreatedBy string `json:"created_by"`
		}
	}
	if err := json.Unmarshal(img.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range cfg.History {
		out = append(out, h.CreatedBy)
	}
	return out
}
