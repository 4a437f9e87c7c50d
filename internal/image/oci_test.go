package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteOCI checks the layout's structure: every blob under its digest,
// the manifest listing the config and the layers, index.json naming it.
// TestOutputs (test/e2e) checks it with skopeo and umoci.
func TestWriteOCI(t *testing.T) {
	img, err := Build(testSpec(fakeStore(t)), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := img.WriteOCI(dir, "v1"); err != nil {
		t.Fatal(err)
	}
	blob := func(digest string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:")))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest {
			t.Fatalf("blob %s has digest %s", digest, got)
		}
		return b
	}
	var index ociIndex
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json = %s: %v", b, err)
	}
	if got := index.Manifests[0].Annotations[OCIRefName]; got != "v1" {
		t.Errorf("index.json names the image %q, want v1", got)
	}
	var m ociManifest
	if err := json.Unmarshal(blob(index.Manifests[0].Digest), &m); err != nil {
		t.Fatal(err)
	}
	if m.Config.Digest != img.ID() || string(blob(m.Config.Digest)) != string(img.Config) {
		t.Errorf("manifest config %s, want the image config %s", m.Config.Digest, img.ID())
	}
	if len(m.Layers) != len(img.Layers) {
		t.Fatalf("manifest has %d layers, want %d", len(m.Layers), len(img.Layers))
	}
	for i, l := range m.Layers {
		if l.Digest != img.Layers[i].DiffID || l.MediaType != ociLayerType || int64(len(blob(l.Digest))) != l.Size {
			t.Errorf("layer %d = %+v, want %s", i, l, img.Layers[i].DiffID)
		}
	}
	// Writing again keeps the layout valid (blobs already there).
	if err := img.WriteOCI(dir, "v1"); err != nil {
		t.Errorf("WriteOCI again: %v", err)
	}
}
