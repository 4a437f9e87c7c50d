package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/nix-docker/nix-docker/internal/nixbuild"
)

// The closure cache keeps the closure of each system path a build asked
// Nix for (nix path-info, a Nix process of its own): a store path's
// closure never changes while the path stays in the store, so a rebuild
// of the same system path (no change, or a change Nix found to make the
// same path) reads it back instead. A record names the store path with
// its inode and change time: a path collected and built again is another
// inode, and its record is not used.
const closureRecordVersion = 1

// maxClosureRecords bounds the closure cache: past it, the records used
// longest ago go. A record is about 10 KiB for the webapp's 41 paths.
const maxClosureRecords = 256

// closureRecord is the closure cache's record of one system path.
type closureRecord struct {
	Version int                 `json:"version"`
	Root    string              `json:"root"` // the directory holding nix/store
	Path    string              `json:"path"`
	Ino     uint64              `json:"ino"`
	Ctime   int64               `json:"ctime"` // nanoseconds
	Closure []nixbuild.PathInfo `json:"closure"`
}

// closureCacheDir is beside the layer cache, in the cache root.
func closureCacheDir(cache string) string {
	return filepath.Join(filepath.Dir(cache), "closures")
}

// closure is the closure of the system path: from the closure cache when
// it holds a record still true of the store, else from Nix (and then
// recorded).
func (r *run) closure(ctx context.Context, system string) ([]nixbuild.PathInfo, error) {
	name := r.closureRecordName(system)
	if c, ok := r.readClosure(name, system); ok {
		now := time.Now()
		os.Chtimes(name, now, now) // the last use, for the bound
		return c, nil
	}
	c, err := r.nix.Closure(ctx, system)
	if err != nil {
		return nil, err
	}
	r.writeClosure(name, system, c)
	return c, nil
}

func (r *run) closureRecordName(system string) string {
	sum := sha256.Sum256([]byte(r.root + "\x00" + system))
	return filepath.Join(r.closures, hex.EncodeToString(sum[:])+".json")
}

// storeIdentity is a store path's inode and change time on this host.
func storeIdentity(file string) (ino uint64, ctime int64, ok bool) {
	info, err := os.Lstat(file)
	if err != nil {
		return 0, 0, false
	}
	st, isUnix := info.Sys().(*syscall.Stat_t)
	if !isUnix {
		return 0, 0, false
	}
	return st.Ino, st.Ctim.Nano(), true
}

// readClosure reads the record at name; ok only when it is the record of
// system under this root, the path is the same inode with the same
// change time, and every path of the closure is in the store.
func (r *run) readClosure(name, system string) ([]nixbuild.PathInfo, bool) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, false
	}
	var rec closureRecord
	if json.Unmarshal(b, &rec) != nil || rec.Version != closureRecordVersion || rec.Root != r.root || rec.Path != system {
		return nil, false
	}
	ino, ctime, ok := storeIdentity(r.storeFile(system, ""))
	if !ok || ino != rec.Ino || ctime != rec.Ctime {
		return nil, false
	}
	self := false
	for _, p := range rec.Closure {
		self = self || p.Path == system
		if _, err := os.Lstat(r.storeFile(p.Path, "")); err != nil {
			return nil, false
		}
	}
	return rec.Closure, self
}

// writeClosure records the closure of system; a record not written is
// asked of Nix again next time.
func (r *run) writeClosure(name, system string, closure []nixbuild.PathInfo) {
	ino, ctime, ok := storeIdentity(r.storeFile(system, ""))
	if !ok {
		return
	}
	b, err := json.Marshal(closureRecord{Version: closureRecordVersion, Root: r.root, Path: system, Ino: ino, Ctime: ctime, Closure: closure})
	if err != nil || os.MkdirAll(r.closures, 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(r.closures, ".tmp-")
	if err != nil {
		return
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err != nil || cerr != nil || os.Rename(tmp.Name(), name) != nil {
		os.Remove(tmp.Name())
		return
	}
	boundClosures(r.closures, maxClosureRecords)
}

// boundClosures removes the records used longest ago past max, and
// temporary files a crashed build left.
func boundClosures(dir string, max int) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type rec struct {
		name string
		used time.Time
	}
	var recs []rec
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(e.Name(), ".json"):
			recs = append(recs, rec{e.Name(), info.ModTime()})
		case strings.HasPrefix(e.Name(), ".tmp-") && time.Since(info.ModTime()) > time.Hour:
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].used.After(recs[j].used) })
	for _, r := range recs[min(max, len(recs)):] {
		os.Remove(filepath.Join(dir, r.name))
	}
}

// pruneClosures removes the closure cache's records of store paths no
// longer in the store (or no longer the same path), records it cannot
// read, and temporary files a crashed build left; it returns how many it
// removed. It removes nothing else: only regular files named as the
// closure cache names its own (*.json, .tmp-*).
func pruneClosures(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, e := range ents {
		name := filepath.Join(dir, e.Name())
		tmp, rec := strings.HasPrefix(e.Name(), ".tmp-"), strings.HasSuffix(e.Name(), ".json")
		if !e.Type().IsRegular() || !tmp && !rec {
			continue // not the closure cache's
		}
		if info, err := e.Info(); err == nil && tmp && time.Since(info.ModTime()) <= time.Hour {
			continue // a build is writing it
		}
		if rec && closureValid(name) {
			continue
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// closureValid tells whether the record at name would be used by a build
// of its system path.
func closureValid(name string) bool {
	b, err := os.ReadFile(name)
	if err != nil {
		return false
	}
	var rec closureRecord
	if json.Unmarshal(b, &rec) != nil || rec.Root == "" {
		return false
	}
	r := &run{root: rec.Root, closures: filepath.Dir(name)}
	_, ok := r.readClosure(name, rec.Path)
	return ok && r.closureRecordName(rec.Path) == name
}
