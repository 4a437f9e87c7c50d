package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
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

	records, _ := filepath.Glob(filepath.Join(closureCacheDir(cacheDir()), "*.json"))
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
	n, err := pruneClosures(closureCacheDir(cacheDir()))
	if err != nil || n != 1 {
		t.Errorf("prune with a closure path gone: removed %d, %v; want the one record", n, err)
	}
	if err := os.Rename(lib+".gone", lib); err != nil {
		t.Fatal(err)
	}
	build("after prune", 5)
	if n, err := pruneClosures(closureCacheDir(cacheDir())); err != nil || n != 0 {
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
