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
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Entry is a file, directory or symlink of the root filesystem outside the
// store, such as /tmp or /etc/passwd.
type Entry struct {
	Path   string      // absolute path in the image
	Mode   fs.FileMode // type (fs.ModeDir, fs.ModeSymlink, or none for a file) and permissions
	Target string      // symlink target
	Data   []byte      // content of a regular file
}

// Healthcheck is the image's HEALTHCHECK: a command run in the container.
type Healthcheck struct {
	Command     []string
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// Spec is everything an image is made of.
type Spec struct {
	Layers       [][]string // store paths per layer, bottom to top (from layers.Plan)
	Extra        []Entry    // root filesystem entries, in one extra layer on top
	Entrypoint   []string
	Cmd          []string
	Env          []string // "K=V", kept in the given order
	ExposedPorts []string // "80/tcp"
	Volumes      []string
	Labels       map[string]string
	Healthcheck  *Healthcheck // nil: none
	WorkingDir   string
	Created      time.Time // the image's creation time; zero means Unix 1
	Root         string    // filesystem root holding nix/store; "" means "/"
	// Platform is what the closure was built for (PlatformOf the Nix
	// system); it is required.
	Platform Platform

	// Base are the layers of a base image (--from), bottom to top, reused
	// as they are: they go below Layers, by DiffID. Their File may be ""
	// when only the engine holds them.
	Base []Layer
	// BasePaths are the store paths the base image holds; symlinks in
	// Layers may point into them.
	BasePaths []string
}

// Layer is one layer tar on disk.
type Layer struct {
	DiffID string   // "sha256:<hex>" of the uncompressed tar
	Size   int64    // bytes of the tar
	File   string   // the tar on disk (in the cache directory)
	Paths  []string // store paths in the layer; empty for the extra layer
	Base   bool     // a layer of the base image, reused by DiffID
	Cached bool     // taken from the layer cache rather than tarred by this build
}

// Image is a built image: its config and its layers, bottom to top.
type Image struct {
	Config []byte
	Layers []Layer
}

// ID is the image ID: "sha256:<hex>" of the config.
func (img *Image) ID() string {
	return digestOf(img.Config)
}

// Written counts the layers this build tarred (not base layers, not taken
// from the cache), and their bytes.
func (img *Image) Written() (layers int, bytes int64) {
	for _, l := range img.Layers {
		if !l.Base && !l.Cached {
			layers++
			bytes += l.Size
		}
	}
	return layers, bytes
}

// DiffIDs lists the layers' digests, bottom to top.
func (img *Image) DiffIDs() []string {
	ids := make([]string, len(img.Layers))
	for i, l := range img.Layers {
		ids[i] = l.DiffID
	}
	return ids
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// cacheVersion changes whenever the bytes of a layer tar for the same input
// change, so that stale cache entries are never used.
const cacheVersion = "nix-docker layer v1"

// DefaultCacheDir is the layer cache Build uses when given "".
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the cache directory: %w", err)
	}
	return filepath.Join(dir, "nix-docker", "layers"), nil
}

// Build writes (or reuses from cacheDir) one tar per layer and the config.
// A store-path layer is cached under its store paths and Root (store paths
// are immutable, so that is enough); the extra layer is cached under its
// content. cacheDir "" means DefaultCacheDir.
func Build(spec Spec, cacheDir string) (*Image, error) {
	if cacheDir == "" {
		var err error
		if cacheDir, err = DefaultCacheDir(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating layer cache: %w", err)
	}
	root := spec.Root
	if root == "" {
		root = "/"
	}
	closure := closureSet{}
	for _, p := range spec.BasePaths {
		closure[p] = true
	}
	for i, l := range spec.Base {
		if l.DiffID == "" {
			return nil, fmt.Errorf("base layer %d has no DiffID", i)
		}
	}
	for i, paths := range spec.Layers {
		if len(paths) == 0 {
			return nil, fmt.Errorf("layer %d has no store paths", i)
		}
		for _, p := range paths {
			if closure[p] {
				return nil, fmt.Errorf("store path %s is in more than one layer", p)
			}
			closure[p] = true
		}
	}
	img := &Image{Layers: make([]Layer, len(spec.Layers))}
	errs := make([]error, len(spec.Layers))
	// Layers are independent: tar them in parallel, a few at a time.
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i, paths := range spec.Layers {
		sorted := append([]string(nil), paths...)
		sort.Strings(sorted)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			key := cacheVersion + "\x00" + root + "\x00" + strings.Join(sorted, "\x00")
			l, err := cachedLayer(cacheDir, key, func(w io.Writer) error {
				return writeStorePaths(w, root, sorted, closure)
			})
			if err != nil {
				errs[i] = fmt.Errorf("writing layer %d (%s): %w", i, sorted[0], err)
				return
			}
			l.Paths = sorted
			img.Layers[i] = l
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(spec.Base) > 0 {
		base := make([]Layer, len(spec.Base))
		for i, l := range spec.Base {
			l.Base = true
			base[i] = l
		}
		img.Layers = append(base, img.Layers...)
	}
	if len(spec.Extra) > 0 {
		key, err := extraKey(spec.Extra)
		if err != nil {
			return nil, err
		}
		l, err := cachedLayer(cacheDir, key, func(w io.Writer) error {
			return writeEntries(w, spec.Extra, closure)
		})
		if err != nil {
			return nil, fmt.Errorf("writing the root filesystem layer: %w", err)
		}
		img.Layers = append(img.Layers, l)
	}
	if len(img.Layers) == 0 {
		return nil, errors.New("an image needs at least one layer")
	}
	cfg, err := configJSON(spec, img.Layers)
	if err != nil {
		return nil, err
	}
	img.Config = cfg
	return img, nil
}

// extraKey is the cache key of the extra layer: its entries, in sorted
// order, serialized.
func extraKey(entries []Entry) (string, error) {
	sorted := append([]Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	b, err := json.Marshal(sorted)
	if err != nil {
		return "", err
	}
	return cacheVersion + "\x00extra\x00" + string(b), nil
}

// cacheRecord is what the cache keeps beside a layer tar.
type cacheRecord struct {
	DiffID string `json:"diffID"`
	Size   int64  `json:"size"`
}

// cachedLayer returns the cached layer for key, or writes it with write,
// hashing as it goes, and records it. Files appear by rename, so a crash or
// a concurrent build never leaves a half-written entry under the key.
func cachedLayer(dir, key string, write func(io.Writer) error) (Layer, error) {
	sum := sha256.Sum256([]byte(key))
	base := filepath.Join(dir, hex.EncodeToString(sum[:]))
	tarFile, recFile := base+".tar", base+".json"
	if b, err := os.ReadFile(recFile); err == nil {
		var rec cacheRecord
		if json.Unmarshal(b, &rec) == nil {
			if st, err := os.Stat(tarFile); err == nil && st.Size() == rec.Size {
				return Layer{DiffID: rec.DiffID, Size: rec.Size, File: tarFile, Cached: true}, nil
			}
		}
	}
	tmp, err := os.CreateTemp(dir, "layer-*.tmp")
	if err != nil {
		return Layer{}, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(tmp, h)}
	if err := write(cw); err != nil {
		tmp.Close()
		return Layer{}, err
	}
	if err := tmp.Close(); err != nil {
		return Layer{}, err
	}
	rec := cacheRecord{DiffID: "sha256:" + hex.EncodeToString(h.Sum(nil)), Size: cw.n}
	if err := os.Rename(tmp.Name(), tarFile); err != nil {
		return Layer{}, err
	}
	b, _ := json.Marshal(rec)
	recTmp := recFile + ".tmp" + path.Base(tmp.Name())
	if err := os.WriteFile(recTmp, b, 0o644); err != nil {
		return Layer{}, err
	}
	if err := os.Rename(recTmp, recFile); err != nil {
		return Layer{}, err
	}
	return Layer{DiffID: rec.DiffID, Size: rec.Size, File: tarFile}, nil
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
