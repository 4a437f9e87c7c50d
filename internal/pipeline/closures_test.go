package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestClosureCache: a rebuild of the same system path reads its closure
// from the closure cache, not from Nix; a system path collected and built
// again, a closure path gone, or a damaged record sends the build to Nix
// again; prune removes the records of paths gone and keeps the others.
func TestClosureCache(t *testing.T) {
	opts, nix := setup(t, appHCL)
	deps := Deps{Nix: nix, StoreRoot: nix.root}
	build := func(what string, wantClosures int) string {
		t.Helper()
		_, outs := fileOutputs(t)
		res, err := Build(context.Background(), opts, deps, outs)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if nix.closures != wantClosures {
			t.Errorf("%s: Nix was asked for %d closures in all, want %d", what, nix.closures, wantClosures)
		}
		return res.ImageID
	}
	first := build("first build", 1)
	if id := build("rebuild", 1); id != first {
		t.Errorf("rebuild with the cached closure: image %s, want %s", id, first)
	}

	records, _ := filepath.Glob(filepath.Join(closureCacheDir(mustCacheDir(t)), "*.json"))
	if len(records) != 1 {
		t.Fatalf("closure records %v, want one", records)
	}
	if err := os.WriteFile(records[0], []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	build("damaged record", 2)

	// The system path collected and built again: another inode.
	if err := os.RemoveAll(filepath.Join(nix.root, systemPath)); err != nil {
		t.Fatal(err)
	}
	if id := build("system path built again", 3); id != first {
		t.Errorf("system path built again: image %s, want %s", id, first)
	}
	build("rebuild", 3)

	// A path of the closure gone: the record is not used (the build then
	// fails on the missing path, after asking Nix).
	lib := filepath.Join(nix.root, libPath)
	if err := os.Rename(lib, lib+".gone"); err != nil {
		t.Fatal(err)
	}
	_, outs := fileOutputs(t)
	if _, err := Build(context.Background(), opts, deps, outs); err == nil {
		t.Error("build with a closure path gone: no error")
	}
	if nix.closures != 4 {
		t.Errorf("closure path gone: Nix asked for %d closures in all, want 4", nix.closures)
	}
	n, err := pruneClosures(closureCacheDir(mustCacheDir(t)))
	if err != nil || n != 1 {
		t.Errorf("prune with a closure path gone: removed %d, %v; want the one record", n, err)
	}
	if err := os.Rename(lib+".gone", lib); err != nil {
		t.Fatal(err)
	}
	build("after prune", 5)
	if n, err := pruneClosures(closureCacheDir(mustCacheDir(t))); err != nil || n != 0 {
		t.Errorf("prune with every path there: removed %d, %v; want none", n, err)
	}
	build("rebuild after prune", 5)
}

// TestTrace: Options.Trace receives every stage of a build, in order, and
// the outputs' delivery and commit.
func TestTrace(t *testing.T) {
	opts, nix := setup(t, appHCL)
	var steps []string
	opts.Trace = func(what string, took time.Duration) {
		if took < 0 {
			t.Errorf("step %s took %v", what, took)
		}
		steps = append(steps, what)
	}
	_, outs := fileOutputs(t)
	if _, err := Build(context.Background(), opts, Deps{Nix: nix, StoreRoot: nix.root}, outs); err != nil {
		t.Fatal(err)
	}
	want := []string{"load and check the app file", "render the Nix expression", "nix-build", "the closure (cache or nix path-info)",
		"plan the layers", "write the image (layer digests, config)", "deliver to docker-archive", "deliver to oci", "commit docker-archive", "commit oci"}
	if !slices.Equal(steps, want) {
		t.Errorf("traced steps %q, want %q", steps, want)
	}
}

// TestCacheFallbackPerUser: without HOME and XDG_CACHE_HOME (systemd
// units, some CI), the layer records, closures and saved base layers go in
// this user's own directory in TMPDIR (mode 0700), never in TMPDIR itself
// where another user could plant a record.
func TestCacheFallbackPerUser(t *testing.T) {
	opts, nix := setup(t, appHCL)
	tmp := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	t.Setenv("TMPDIR", tmp)
	_, outs := fileOutputs(t)
	if _, err := Build(context.Background(), opts, Deps{Nix: nix, StoreRoot: nix.root}, outs); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(tmp, fmt.Sprintf("nix-docker-%d", os.Getuid()))
	ents, _ := os.ReadDir(tmp)
	for _, e := range ents {
		if filepath.Join(tmp, e.Name()) != own {
			t.Errorf("the build left %s in TMPDIR, outside %s", e.Name(), own)
		}
	}
	if info, err := os.Lstat(own); err != nil || !info.IsDir() || info.Mode().Perm() != 0o700 {
		t.Fatalf("per-user cache directory: %v, %v; want a directory of mode 0700", info, err)
	}
	for _, sub := range []string{"layer-records", "closures"} {
		if _, err := os.Stat(filepath.Join(own, sub)); err != nil {
			t.Errorf("%s not in the per-user cache directory: %v", sub, err)
		}
	}
	if bases := baseCacheDir(filepath.Join(own, "layer-records")); filepath.Dir(bases) != own {
		t.Errorf("base layers in %s, want them in %s", bases, own)
	}

	// A directory of that name with other modes is refused, not used.
	if err := os.Chmod(own, 0o777); err != nil {
		t.Fatal(err)
	}
	_, outs = fileOutputs(t)
	if _, err := Build(context.Background(), opts, Deps{Nix: nix, StoreRoot: nix.root}, outs); err == nil || !strings.Contains(err.Error(), own) {
		t.Errorf("build with a cache directory others can write: %v, want an error naming %s", err, own)
	}
}

// TestPruneClosuresOwnFilesOnly: prune removes the closure cache's stale
// records and temporary files, never anything else in its directory.
func TestPruneClosuresOwnFilesOnly(t *testing.T) {
	dir := t.TempDir()
	keep := []string{"notes.txt", "sub/file", ".hidden"}
	for _, k := range keep {
		p := filepath.Join(dir, k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("not ours"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gone := []string{"stale.json", ".tmp-123"}
	for _, g := range gone {
		if err := os.WriteFile(filepath.Join(dir, g), []byte("{"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, ".tmp-123"), old, old); err != nil {
		t.Fatal(err)
	}
	n, err := pruneClosures(dir)
	if err != nil || n != len(gone) {
		t.Errorf("pruneClosures: removed %d, %v; want %d", n, err, len(gone))
	}
	for _, k := range keep {
		if _, err := os.Stat(filepath.Join(dir, k)); err != nil {
			t.Errorf("prune removed %s, which is not the closure cache's: %v", k, err)
		}
	}
	for _, g := range gone {
		if _, err := os.Lstat(filepath.Join(dir, g)); err == nil {
			t.Errorf("prune left %s", g)
		}
	}
}

func mustCacheDir(t *testing.T) string {
	t.Helper()
	dir, err := cacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
