package output

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nix-docker/nix-docker/internal/image"
)

// smallImage is an image of one root filesystem layer holding dir.
func smallImage(t *testing.T, dir string) *image.Image {
	t.Helper()
	img, err := image.Build(image.Spec{Extra: []image.Entry{{Path: dir, Mode: fs.ModeDir | 0o755}}, Platform: image.Platform{Architecture: "amd64", OS: "linux"}}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestOCI delivers two images into one layout: the first makes the
// directory on Commit, the second adds its blobs and replaces the index;
// an aborted delivery leaves the layout as it was.
func TestOCI(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	dir := filepath.Join(parent, "layout")
	first, second := smallImage(t, "/one"), smallImage(t, "/two")

	o := NewOCI(dir, "app:v1")
	if _, err := o.Deliver(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("the layout appeared before Commit")
	}
	if err := o.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	aborted := NewOCI(dir, "app:v3")
	if _, err := aborted.Deliver(ctx, smallImage(t, "/three")); err != nil {
		t.Fatal(err)
	}
	aborted.Abort()

	o = NewOCI(dir, "app:v2")
	rep, err := o.Deliver(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, parent); !slices.Equal(got, []string{"layout"}) {
		t.Errorf("beside the layout: %v, want nothing else", got)
	}
	blobs := entries(t, filepath.Join(dir, "blobs", "sha256"))
	for _, img := range []*image.Image{first, second} {
		for _, l := range img.Layers {
			if !slices.Contains(blobs, l.DiffID[len("sha256:"):]) {
				t.Errorf("layer %s of %s is not in the layout", l.DiffID, img.ID())
			}
		}
	}
	var index struct {
		Manifests []struct{ Annotations map[string]string }
	}
	b, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if err := json.Unmarshal(b, &index); err != nil || len(index.Manifests) != 1 || index.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v2" {
		t.Errorf("index.json = %s, want the second image only, named v2", b)
	}
	if rep.ImageID != second.ID() || rep.LayersSent != 1 {
		t.Errorf("report %+v", rep)
	}
}

// TestArchive writes the archive only on Commit, and nothing on Abort.
func TestArchive(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "image.tar")
	a, err := NewArchive(file, "app")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Deliver(ctx, smallImage(t, "/one"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("the archive appeared before Commit")
	}
	a.Abort()
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("after Abort: %v, want nothing", got)
	}
	if _, err := a.Deliver(ctx, smallImage(t, "/one")); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(file); err != nil || st.Size() != rep.BytesSent {
		t.Errorf("archive: %v, %v; want %d bytes", st, err, rep.BytesSent)
	}
	if _, err := NewArchive(filepath.Join(dir, "missing", "x.tar"), ""); err == nil {
		t.Error("NewArchive into a missing directory succeeded")
	}
}

func TestRefs(t *testing.T) {
	for _, c := range []struct{ tag, normal, repo, part string }{
		{"app", "app:latest", "app", "latest"},
		{"user/app:v1", "user/app:v1", "user/app", "v1"},
		{"localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app", "latest"},
	} {
		if got := NormalTag(c.tag); got != c.normal {
			t.Errorf("NormalTag(%q) = %q, want %q", c.tag, got, c.normal)
		}
		if got := Repository(c.tag); got != c.repo {
			t.Errorf("Repository(%q) = %q, want %q", c.tag, got, c.repo)
		}
		if got := tagPart(c.tag); got != c.part {
			t.Errorf("tagPart(%q) = %q, want %q", c.tag, got, c.part)
		}
	}
}
