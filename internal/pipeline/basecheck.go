package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/nix-docker/nix-docker/internal/docker"
)

// maxBaseChecks is how many promised store paths checkBase looks up in
// the engine when it has not read the base's layers: all of them up to
// this many, else this many spread over the sorted list.
const maxBaseChecks = 32

// checkBase verifies the promise of the base's store-paths label for the
// paths this image leaves out because of it: each must be in the base's
// layers, or the image would lack files. When this build read the
// layers, every one is checked against them; otherwise a sample is
// looked up in the engine.
func (r *run) checkBase(ctx context.Context, sys realised, base baseImage) error {
	if !base.FromLabel {
		return nil // the paths were read from the layers themselves
	}
	promised := map[string]bool{}
	for _, p := range base.Paths {
		promised[p] = true
	}
	var relied []string // sorted: the closure is
	for _, c := range sys.Closure {
		if promised[c.Path] {
			relied = append(relied, c.Path)
		}
	}
	var missing []string
	checked := relied
	if base.Listed != nil {
		for _, p := range relied {
			if !base.Listed[p] {
				missing = append(missing, p)
			}
		}
	} else {
		checked = sample(relied, maxBaseChecks)
		if len(checked) == 0 {
			return nil
		}
		var err error
		if missing, err = docker.MissingPaths(ctx, r.engine, base.ID, checked); err != nil {
			return err
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("the base image %s promises store paths in its %s label that its layers lack: %s (%d of %d checked are missing). The label is wrong: rebuild the base with nix-docker, or build without --from",
		r.opts.From, LabelStorePaths, strings.Join(missing, ", "), len(missing), len(checked))
}

// sample picks at most n of paths, spread evenly, always the same ones
// for the same list.
func sample(paths []string, n int) []string {
	if len(paths) <= n {
		return paths
	}
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, paths[i*len(paths)/n])
	}
	return out
}
