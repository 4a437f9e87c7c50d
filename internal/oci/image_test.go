package oci

import (
	"bytes"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/nix-docker/nix-docker/internal/image"
)

const appPath = "/nix/store/1d2ncm9vn2hpw54dckdrz9hg5n4wnnxr-app-1.0"

// store makes a fake store holding appPath and returns its root.
func store(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	bin := filepath.Join(root, appPath, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// Enough bytes that gzip has something to do.
	data := bytes.Repeat([]byte("#!/bin/sh\necho hello\n"), 5000)
	if err := os.WriteFile(filepath.Join(bin, "app"), data, 0o555); err != nil {
		t.Fatal(err)
	}
	return root
}

// build makes a two-layer image (a store path, the root filesystem) from
// the fake store at root, with the layer cache in cache.
func build(t *testing.T, root, cache string) *image.Image {
	t.Helper()
	img, err := image.Build(image.Spec{
		Layers:     [][]string{{appPath}},
		Extra:      []image.Entry{{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777}},
		Entrypoint: []string{appPath + "/bin/app"},
		Labels:     map[string]string{"a": "1"},
		Created:    time.Unix(1700000000, 0),
		Root:       root,
	}, cache)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestImage checks the view with go-containerregistry's own validator
// (digests, diff IDs, sizes all agree), the config kept byte for byte,
// the annotations, and that two builds give the same manifest.
func TestImage(t *testing.T) {
	img := build(t, store(t), t.TempDir())
	v, err := Image(img, Options{Annotations: map[string]string{AnnotationTitle: "app", AnnotationSource: ""}})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(v); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	if got, _ := v.ConfigName(); got.String() != img.ID() {
		t.Errorf("ConfigName() = %s, want the image ID %s", got, img.ID())
	}
	if raw, _ := v.RawConfigFile(); !bytes.Equal(raw, img.Config) {
		t.Error("RawConfigFile() is not the image's config")
	}
	m, err := v.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{AnnotationTitle: "app", AnnotationCreated: "2023-11-14T22:13:20Z"}
	if len(m.Annotations) != len(want) || m.Annotations[AnnotationTitle] != "app" || m.Annotations[AnnotationCreated] != want[AnnotationCreated] {
		t.Errorf("annotations = %v, want %v", m.Annotations, want)
	}
	if len(m.Layers) != 2 || m.Layers[0].MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
		t.Errorf("layers = %+v, want two gzip layers", m.Layers)
	}
	again, err := Image(build(t, store(t), t.TempDir()), Options{Annotations: map[string]string{AnnotationTitle: "app"}})
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := v.Digest()
	d2, err := again.Digest()
	if err != nil || d1 != d2 {
		t.Errorf("a second build's manifest digest = %s (%v), want %s", d2, err, d1)
	}
}

// TestCompressedRemembered: a second build with the same cache takes the
// compressed digest from the cache (a record edited by hand is not
// trusted: the digest is computed again).
func TestCompressedRemembered(t *testing.T) {
	root, cache := store(t), t.TempDir()
	first, err := Image(build(t, root, cache), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := first.Layers()
	good, err := ls[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := filepath.Glob(filepath.Join(cache, "*.json"))
	var holding []string
	for _, r := range recs {
		if b, _ := os.ReadFile(r); bytes.Contains(b, []byte(good.String())) {
			holding = append(holding, r)
		}
	}
	if len(holding) != 1 {
		t.Fatalf("%d cache records hold the compressed digest %s, want 1", len(holding), good)
	}
	b, _ := os.ReadFile(holding[0])
	forged := "sha256:" + strings.Repeat("0", 64)
	os.WriteFile(holding[0], bytes.ReplaceAll(b, []byte(good.String()), []byte(forged)), 0o644)
	second, err := Image(build(t, root, cache), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ls, _ = second.Layers()
	if got, err := ls[0].Digest(); err != nil || got != good {
		t.Errorf("after editing the record: digest %s (%v), want %s", got, err, good)
	}
}

// TestPushPull sends the image through go-containerregistry's in-memory
// registry and reads it back: same config digest, same layers.
func TestPushPull(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	img := build(t, store(t), t.TempDir())
	v, err := Image(img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, v); err != nil {
		t.Fatal(err)
	}
	got, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatalf("the pulled image: %v", err)
	}
	id, _ := got.ConfigName()
	want, _ := v.Digest()
	d, _ := got.Digest()
	if id.String() != img.ID() || d != want {
		t.Errorf("pulled config %s, manifest %s; want %s, %s", id, d, img.ID(), want)
	}
	var diffIDs []v1.Hash
	ls, _ := got.Layers()
	for _, l := range ls {
		h, _ := l.DiffID()
		diffIDs = append(diffIDs, h)
	}
	for i, h := range diffIDs {
		if h.String() != img.Layers[i].DiffID {
			t.Errorf("layer %d: diff ID %s, want %s", i, h, img.Layers[i].DiffID)
		}
	}
}

// TestSpool: with a spool, the gzip streams made to learn the digests are
// kept and read back as the layers' bytes; layers whose digests the cache
// knows are not compressed at all.
func TestSpool(t *testing.T) {
	root, cache := store(t), t.TempDir()
	spool := t.TempDir()
	v, err := Image(build(t, root, cache), Options{Spool: spool})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.RawManifest(); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(spool)
	ls, _ := v.Layers()
	if len(files) != len(ls) {
		t.Fatalf("spool holds %d files, want one per layer (%d)", len(files), len(ls))
	}
	fresh, err := Image(build(t, root, t.TempDir()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	freshLayers, _ := fresh.Layers()
	for i, l := range ls {
		a, b := readAll(t, l.Compressed), readAll(t, freshLayers[i].Compressed)
		if !bytes.Equal(a, b) {
			t.Errorf("layer %d: the spooled stream differs from one made again", i)
		}
	}
	again := t.TempDir()
	w, err := Image(build(t, root, cache), Options{Spool: again})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.RawManifest(); err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(again); len(files) != 0 {
		t.Errorf("with every digest in the cache, the spool holds %d files", len(files))
	}
}

func readAll(t *testing.T, open func() (io.ReadCloser, error)) []byte {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
