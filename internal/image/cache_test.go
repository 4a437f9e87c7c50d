package image

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// records lists the cache's files: record names, and anything else.
func cacheFiles(t *testing.T, dir string) (recs, other []string, bytes int64) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		info, _ := e.Info()
		bytes += info.Size()
		if strings.HasSuffix(e.Name(), ".json") {
			recs = append(recs, filepath.Join(dir, e.Name()))
		} else {
			other = append(other, e.Name())
		}
	}
	return recs, other, bytes
}

// recordOf returns the record file that describes the layer l.
func recordOf(t *testing.T, dir string, l Layer) (string, record) {
	t.Helper()
	recs, _, _ := cacheFiles(t, dir)
	for _, name := range recs {
		if rec, ok := readRecord(name); ok && rec.DiffID == l.DiffID {
			return name, rec
		}
	}
	t.Fatalf("no record for layer %s", l.DiffID)
	return "", record{}
}

// TestCacheKeepsNoTars: the cache holds one small record per layer and
// no layer bytes, and a build from it reads nothing from the store.
func TestCacheKeepsNoTars(t *testing.T) {
	root, cache := fakeStore(t), t.TempDir()
	img, err := Build(testSpec(root), cache)
	if err != nil {
		t.Fatal(err)
	}
	recs, other, bytes := cacheFiles(t, cache)
	if len(recs) != len(img.Layers) || len(other) != 0 {
		t.Errorf("cache holds records %v and %v, want %d records only", recs, other, len(img.Layers))
	}
	var tars int64
	for _, l := range img.Layers {
		tars += l.Size
	}
	if bytes >= tars/4 {
		t.Errorf("cache holds %d bytes for %d bytes of layer tars", bytes, tars)
	}
	for _, l := range img.Layers {
		if l.Cached {
			t.Errorf("layer %s came from an empty cache", l.DiffID)
		}
	}
	again, err := Build(testSpec(root), cache)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range again.Layers {
		if !l.Cached {
			t.Errorf("layer %s: not from the cache on the second build", l.DiffID)
		}
	}
}

// TestCacheRecordDamaged: a record altered without its checksum is not
// used; the layer is hashed again and the record rewritten.
func TestCacheRecordDamaged(t *testing.T) {
	root, cache := fakeStore(t), t.TempDir()
	want, err := Build(testSpec(root), cache)
	if err != nil {
		t.Fatal(err)
	}
	name, rec := recordOf(t, cache, want.Layers[1])
	b, _ := os.ReadFile(name)
	forged := "sha256:" + strings.Repeat("1", 64)
	os.WriteFile(name, []byte(strings.ReplaceAll(string(b), rec.DiffID, forged)), 0o644)
	got, err := Build(testSpec(root), cache)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != want.ID() {
		t.Errorf("with a damaged record: ID %s, want %s", got.ID(), want.ID())
	}
	if got.Layers[1].Cached {
		t.Error("the layer of the damaged record came from the cache")
	}
	if again, ok := readRecord(name); !ok || again.DiffID != rec.DiffID {
		t.Errorf("the record was not rewritten: %+v", again)
	}
}

// TestCacheRecordForged: a record rewritten with a valid checksum but a
// wrong digest is caught when the layer's bytes are made; the record is
// dropped, and the next build is right.
func TestCacheRecordForged(t *testing.T) {
	root, cache := fakeStore(t), t.TempDir()
	want, err := Build(testSpec(root), cache)
	if err != nil {
		t.Fatal(err)
	}
	name, rec := recordOf(t, cache, want.Layers[0])
	rec.DiffID = want.Layers[1].DiffID // another real layer's digest
	if err := writeRecord(name, rec); err != nil {
		t.Fatal(err)
	}
	forged, err := Build(testSpec(root), cache)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := forged.Layers[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	if !errors.Is(err, ErrDigest) {
		t.Fatalf("reading a layer whose record is forged: %v, want a digest mismatch", err)
	}
	var buf strings.Builder
	if _, err := forged.WriteArchive(&buf, nil, nil); !errors.Is(err, ErrDigest) {
		t.Errorf("WriteArchive with a forged record: %v, want a digest mismatch", err)
	}
	if _, err := os.Stat(name); err == nil {
		t.Error("the forged record is still in the cache")
	}
	got, err := Build(testSpec(root), cache)
	if err != nil || got.ID() != want.ID() {
		t.Errorf("after the forged record was dropped: %v, ID %s, want %s", err, got.ID(), want.ID())
	}
}

// TestCompressedForged: a remembered compressed digest that lies is
// caught when the compressed bytes are made, and dropped.
func TestCompressedForged(t *testing.T) {
	root, cache := fakeStore(t), t.TempDir()
	img, err := Build(testSpec(root), cache)
	if err != nil {
		t.Fatal(err)
	}
	good, err := img.Layers[1].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	name, rec := recordOf(t, cache, img.Layers[1])
	if rec.Gzip == nil || *rec.Gzip != good || rec.Compressor != compressor {
		t.Fatalf("record %+v does not remember %+v", rec, good)
	}
	rec.Gzip.Digest = "sha256:" + strings.Repeat("2", 64)
	writeRecord(name, rec)
	again, err := Build(testSpec(root), cache)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := again.Layers[1].Compressed(); b != *rec.Gzip {
		t.Fatalf("Compressed() = %+v, want the remembered %+v", b, *rec.Gzip)
	}
	rc, err := again.Layers[1].OpenCompressed()
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	if !errors.Is(err, ErrDigest) {
		t.Errorf("reading the compressed layer: %v, want a digest mismatch", err)
	}
	if _, err := os.Stat(name); err == nil {
		t.Error("the forged record is still in the cache")
	}
}

// TestOpenChecksStore: bytes that no longer hash to the layer's digest
// (here, a store file changed under the layer) fail the read.
func TestOpenChecksStore(t *testing.T) {
	root := fakeStore(t)
	img, err := Build(testSpec(root), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(root, libPath, "lib", "libfoo.so")
	os.Chmod(f, 0o644)
	if err := os.WriteFile(f, []byte("not really ELX\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	rc, err := img.Layers[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); !errors.Is(err, ErrDigest) {
		t.Errorf("reading a layer whose files changed: %v, want a digest mismatch", err)
	}
}

// TestCacheBound: past the bound, the records used longest ago go.
func TestCacheBound(t *testing.T) {
	root, dir := fakeStore(t), t.TempDir()
	if _, err := Build(testSpec(root), dir); err != nil {
		t.Fatal(err)
	}
	recs, _, _ := cacheFiles(t, dir)
	slices.Sort(recs)
	for i, r := range recs {
		when := time.Now().Add(time.Duration(i-len(recs)) * time.Hour)
		os.Chtimes(r, when, when)
	}
	stale := filepath.Join(dir, ".tmp-123")
	os.WriteFile(stale, nil, 0o644)
	old := time.Now().Add(-2 * tmpAge)
	os.Chtimes(stale, old, old)
	c := &cache{dir: dir}
	c.bound(2, MaxBytes)
	got, other, _ := cacheFiles(t, dir)
	if !slices.Equal(got, recs[len(recs)-2:]) || len(other) != 0 {
		t.Errorf("after bound(2): %v and %v, want the 2 used last: %v", got, other, recs[len(recs)-2:])
	}
	c.bound(10, 1)
	if got, _, _ := cacheFiles(t, dir); len(got) != 0 {
		t.Errorf("after bound(10, 1 byte): %v, want none", got)
	}
}

// TestPruneCache drops the records of store paths gone from the store,
// records failing their check and stray files; it keeps the rest.
func TestPruneCache(t *testing.T) {
	root, dir := fakeStore(t), t.TempDir()
	img, err := Build(testSpec(root), dir)
	if err != nil {
		t.Fatal(err)
	}
	lib, _ := recordOf(t, dir, img.Layers[0])
	app, _ := recordOf(t, dir, img.Layers[1])
	extra, _ := recordOf(t, dir, img.Layers[2])
	os.WriteFile(filepath.Join(dir, "0123.tar"), []byte("an old layer tar"), 0o644)
	os.WriteFile(filepath.Join(dir, "4567.json"), []byte(`{"diffID":"sha256:00","size":3}`), 0o644)
	// The app leaves the store (its files first: the fake store is
	// read-only).
	filepath.WalkDir(filepath.Join(root, appPath), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	if err := os.RemoveAll(filepath.Join(root, appPath)); err != nil {
		t.Fatal(err)
	}
	st, err := PruneCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	recs, other, _ := cacheFiles(t, dir)
	// The root filesystem layer links into the app: it goes too.
	if !slices.Equal(recs, []string{lib}) || len(other) != 0 || st.Removed != 4 || st.Kept != 1 {
		t.Errorf("after PruneCache: %v, %v, %+v; want only %s (removed %s, %s and two strays)", recs, other, st, lib, app, extra)
	}
	var rec record
	b, _ := os.ReadFile(lib)
	if json.Unmarshal(b, &rec) != nil || rec.Root != root || !slices.Equal(rec.Paths, []string{libPath}) {
		t.Errorf("record %s", b)
	}
}

// TestPushedTo: the repositories a layer was pushed to are remembered,
// most recent first, for the next build.
func TestPushedTo(t *testing.T) {
	root, cache := fakeStore(t), t.TempDir()
	img, err := Build(testSpec(root), cache)
	if err != nil {
		t.Fatal(err)
	}
	img.Layers[0].Pushed("reg.example:5000/a")
	img.Layers[0].Pushed("reg.example:5000/b")
	img.Layers[0].Pushed("reg.example:5000/a")
	again, err := Build(testSpec(root), cache)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := again.Layers[0].PushedTo(), []string{"reg.example:5000/a", "reg.example:5000/b"}; !slices.Equal(got, want) {
		t.Errorf("PushedTo() = %v, want %v", got, want)
	}
	if got := again.Layers[1].PushedTo(); len(got) != 0 {
		t.Errorf("PushedTo() of a layer never pushed = %v", got)
	}
}
