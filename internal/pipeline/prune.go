package pipeline

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/image"
	"github.com/nix-docker/nix-docker/internal/output"
)

// Prune removes the untagged images nix-docker built for name (an image
// name; a tag, if any, is ignored): those whose LabelName is name.
func Prune(ctx context.Context, c docker.Pruner, name string) (docker.PruneResult, error) {
	return docker.Prune(ctx, c, LabelName, output.Repository(name))
}

// CacheResult says what PruneCache did.
type CacheResult struct {
	image.PruneStats       // the layer cache's records
	BaseBytes        int64 // bytes of saved base layers removed
	LegacyBytes      int64 // bytes of the old cache of whole layer tars removed
	Closures         int   // closure records removed (their store paths are gone)
}

// PruneCache drops the layer cache's and the closure cache's records of
// store paths no longer in the store, the saved layers of --from bases (a build saves them again
// from the engine when it needs them), and the whole layer tars earlier
// versions kept.
func PruneCache() (CacheResult, error) {
	dir, err := cacheDir()
	if err != nil {
		return CacheResult{}, err
	}
	st, err := image.PruneCache(dir)
	res := CacheResult{PruneStats: st}
	if err != nil {
		return res, err
	}
	if res.Closures, err = pruneClosures(closureCacheDir(dir)); err != nil {
		return res, err
	}
	if res.BaseBytes, err = removeDir(baseCacheDir(dir)); err != nil {
		return res, err
	}
	if legacy, lerr := image.LegacyCacheDir(); lerr == nil {
		if res.LegacyBytes, err = removeDir(legacy); err != nil {
			return res, err
		}
	}
	if spool := output.DefaultSpoolDir(); spool != os.TempDir() { // never sweep a shared directory
		removeStaleSpools(spool)
	}
	return res, nil
}

// removeStaleSpools removes the spools of pushes that ended an hour ago
// or more without removing them (a push removes its own when it ends).
func removeStaleSpools(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		info, err := e.Info()
		if err == nil && e.IsDir() && strings.HasPrefix(e.Name(), output.SpoolPrefix) && time.Since(info.ModTime()) > time.Hour {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// removeDir removes dir and says how many bytes its files held.
func removeDir(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return n, os.RemoveAll(dir)
}
