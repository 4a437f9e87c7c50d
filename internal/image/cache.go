package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nix-docker/nix-docker/internal/cachedir"
)

// The layer cache keeps, per layer (its store paths, or the root
// filesystem layer's entries), what a build learnt of its tar: the
// DiffID and size, and the gzip stream's digest and size once an output
// needed them. It never keeps the tar: the store holds the files, and the
// deterministic tar writer makes the same bytes again when a layer must
// be sent. One small JSON record per layer, named by the hash of its key.

// cacheVersion changes whenever the bytes of a layer tar for the same input
// change, so that stale cache entries are never used.
const cacheVersion = "nix-docker layer v1"

// recordVersion changes whenever the record's format does.
const recordVersion = 2

// The cache is bounded: past MaxRecords records or MaxBytes bytes, the
// records used longest ago go. A record is a few hundred bytes, more for
// a layer of many store paths.
const (
	MaxRecords = 4096
	MaxBytes   = 16 << 20
)

// maxRepos is how many repositories holding a layer a record keeps.
const maxRepos = 8

// tmpAge is how old a temporary file must be before the cache removes it
// as left by a crash, not by a build still running.
const tmpAge = time.Hour

// DefaultCacheDir is the layer cache Build uses when given "":
// layer-records in nix-docker's cache root (cachedir.Root: nix-docker in
// the user's cache directory, else a directory of this user's own in the
// temporary directory). (Until records
// replaced them, whole layer tars were kept in nix-docker/layers, which
// PruneCache removes: LegacyCacheDir.)
func DefaultCacheDir() (string, error) {
	dir, err := cachedir.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "layer-records"), nil
}

// LegacyCacheDir is where earlier versions kept whole layer tars.
func LegacyCacheDir() (string, error) {
	dir, err := cachedir.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "layers"), nil
}

// record is what the cache keeps of one layer.
type record struct {
	Version int      `json:"version"`
	Root    string   `json:"root,omitempty"` // the directory holding nix/store; "" is "/"
	Paths   []string `json:"paths"`          // store paths the layer holds or links into
	DiffID  string   `json:"diffID"`
	Size    int64    `json:"size"`
	// Gzip is the layer's compressed stream, once an output needed it,
	// made by Compressor.
	Gzip       *Blob  `json:"gzip,omitempty"`
	Compressor string `json:"compressor,omitempty"`
	// Repos are registry repositories that hold the compressed blob,
	// most recent first, at most maxRepos.
	Repos []string `json:"repos,omitempty"`
	// Base marks the record of a --from base's layer, which prune drops
	// with the saved tar.
	Base bool `json:"base,omitempty"`
	// Sum is the digest of the record's name and the record without Sum:
	// a record damaged, or filed under another name, fails it.
	Sum string `json:"sum"`
}

// sum computes the record's Sum for the record file name.
func (r record) sum(name string) string {
	r.Sum = ""
	b, _ := json.Marshal(r)
	h := sha256.New()
	io.WriteString(h, filepath.Base(name)+"\x00")
	h.Write(b)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// readRecord reads the record at name; ok is false when it is missing or
// fails its checks.
func readRecord(name string) (rec record, ok bool) {
	b, err := os.ReadFile(name)
	if err != nil || json.Unmarshal(b, &rec) != nil {
		return record{}, false
	}
	if rec.Version != recordVersion || rec.Sum != rec.sum(name) || !strings.HasPrefix(rec.DiffID, "sha256:") || rec.Size <= 0 {
		return record{}, false
	}
	return rec, true
}

// writeRecord replaces the record at name.
func writeRecord(name string, rec record) error {
	rec.Version = recordVersion
	rec.Sum = rec.sum(name)
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return writeFileAtomic(name, b)
}

// cache is a layer cache directory.
type cache struct {
	dir string
}

func openCache(dir string) (*cache, error) {
	if dir == "" {
		var err error
		if dir, err = DefaultCacheDir(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating layer cache: %w", err)
	}
	return &cache{dir: dir}, nil
}

// layer returns the layer for key, whose tar write makes: from its
// record, or by making the tar once and hashing it. paths are the store
// paths (below root) whose leaving the store makes the record useless.
func (c *cache) layer(key, root string, paths []string, write func(io.Writer) error) (Layer, error) {
	sum := sha256.Sum256([]byte(key))
	name := filepath.Join(c.dir, hex.EncodeToString(sum[:])+".json")
	if rec, ok := readRecord(name); ok {
		now := time.Now()
		os.Chtimes(name, now, now) // the last use, for bound
		return c.layerOf(rec, name, write, true), nil
	}
	h := sha256.New()
	cw := &countWriter{w: h}
	if err := write(cw); err != nil {
		return Layer{}, err
	}
	rec := record{Paths: paths, DiffID: "sha256:" + hex.EncodeToString(h.Sum(nil)), Size: cw.n}
	if root != "/" {
		rec.Root = root
	}
	if err := writeRecord(name, rec); err != nil {
		return Layer{}, fmt.Errorf("writing the layer cache: %w", err)
	}
	return c.layerOf(rec, name, write, false), nil
}

// layerOf is the layer rec describes; its bytes are made by write.
func (c *cache) layerOf(rec record, name string, write func(io.Writer) error, cached bool) Layer {
	src := &source{
		open: func() (io.ReadCloser, error) {
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(write(pw)) }()
			return pr, nil
		},
		entry: &entry{name: name, rec: rec},
	}
	if rec.Gzip != nil && rec.Compressor == compressor {
		b := *rec.Gzip
		src.blob = &b
	}
	return Layer{DiffID: rec.DiffID, Size: rec.Size, Cached: cached, src: src}
}

// baseLayer is a --from base's layer: its bytes come from the tar the
// engine saved (File), when it did; what is learnt of them is kept in a
// record of its own, under the layer's DiffID.
func (c *cache) baseLayer(l Layer) Layer {
	l.Base = true
	l.src = &source{}
	if l.File == "" || l.Size <= 0 {
		return l // only the engine has the bytes
	}
	sum := sha256.Sum256([]byte(cacheVersion + "\x00base\x00" + l.DiffID))
	name := filepath.Join(c.dir, hex.EncodeToString(sum[:])+".json")
	rec, ok := readRecord(name)
	if !ok || rec.DiffID != l.DiffID || rec.Size != l.Size {
		rec = record{DiffID: l.DiffID, Size: l.Size, Base: true}
		writeRecord(name, rec) // a record not written is made again next time
	}
	l.src.entry = &entry{name: name, rec: rec}
	if rec.Gzip != nil && rec.Compressor == compressor {
		b := *rec.Gzip
		l.src.blob = &b
	}
	return l
}

// entry is a layer's record in the cache, shared by the copies of the
// Layer.
type entry struct {
	name string
	mu   sync.Mutex
	rec  record
}

// update changes the record and writes it; a nil entry is no record. A
// record that could not be written is learnt again.
func (e *entry) update(change func(*record)) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	change(&e.rec)
	writeRecord(e.name, e.rec)
}

// forget removes the record: it was found wrong.
func (e *entry) forget() {
	if e != nil {
		os.Remove(e.name)
	}
}

// bound removes the records used longest ago past maxRecords or maxBytes, and
// temporary files a crashed build left. Errors are ignored: a record
// that stays is used or removed next time.
func (c *cache) bound(maxRecords int, maxBytes int64) {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	type rec struct {
		name string
		used time.Time
		size int64
	}
	var recs []rec
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(e.Name(), ".json"):
			recs = append(recs, rec{e.Name(), info.ModTime(), info.Size()})
		case strings.HasPrefix(e.Name(), ".tmp-") && time.Since(info.ModTime()) > tmpAge:
			os.Remove(filepath.Join(c.dir, e.Name()))
		}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].used.After(recs[j].used) })
	var total int64
	for i, r := range recs {
		total += r.size
		if i >= maxRecords || total > maxBytes {
			os.Remove(filepath.Join(c.dir, r.name))
		}
	}
}

// PruneStats says what PruneCache did.
type PruneStats struct {
	Removed, Kept int   // records
	Bytes         int64 // bytes left in the cache
}

// PruneCache removes the records of dir ("" means DefaultCacheDir) whose
// store paths are no longer in the store, those of --from bases' layers
// (their saved tars go with prune too), those failing their checks, and
// files that are not records.
func PruneCache(dir string) (PruneStats, error) {
	c, err := openCache(dir)
	if err != nil {
		return PruneStats{}, err
	}
	var st PruneStats
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return st, err
	}
	for _, e := range ents {
		name := filepath.Join(c.dir, e.Name())
		info, err := e.Info()
		if err != nil {
			continue
		}
		if strings.HasPrefix(e.Name(), ".tmp-") && time.Since(info.ModTime()) <= tmpAge {
			continue // a build is writing it
		}
		if rec, ok := readRecord(name); ok && strings.HasSuffix(e.Name(), ".json") && !rec.Base && inStore(rec) {
			st.Kept++
			st.Bytes += info.Size()
			continue
		}
		if err := os.RemoveAll(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return st, err
		}
		st.Removed++
	}
	return st, nil
}

// inStore tells whether every store path the record names is still in
// its store.
func inStore(rec record) bool {
	root := rec.Root
	if root == "" {
		root = "/"
	}
	for _, p := range rec.Paths {
		if _, err := os.Lstat(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			return false
		}
	}
	return true
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
