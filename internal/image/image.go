package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

	src *source // where the bytes come from, what is known of them; nil: File
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

// Build hashes (or finds in the layer cache at cacheDir) one tar per
// layer and writes the config. A store-path layer is cached under its
// store paths and Root (store paths are immutable, so that is enough); the
// extra layer under its content. The cache keeps what a layer's bytes hash
// to, never the bytes: the returned layers make their tars again from the
// store when they are read (Layer.Open). cacheDir "" means
// DefaultCacheDir.
func Build(spec Spec, cacheDir string) (*Image, error) {
	c, err := openCache(cacheDir)
	if err != nil {
		return nil, err
	}
	root := spec.Root
	if root == "" {
		root = "/"
	}
	closure, err := checkSpec(spec)
	if err != nil {
		return nil, err
	}
	own, err := c.storeLayers(spec.Layers, root, closure)
	if err != nil {
		return nil, err
	}
	var base []Layer
	for _, l := range spec.Base {
		base = append(base, c.baseLayer(l))
	}
	img := &Image{Layers: append(base, own...)}
	if len(spec.Extra) > 0 {
		extra := append([]Entry(nil), spec.Extra...)
		key, err := extraKey(extra)
		if err != nil {
			return nil, err
		}
		l, err := c.layer(key, root, storeRefs(extra), func(w io.Writer) error {
			return writeEntries(w, extra, closure)
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
	c.bound(MaxRecords, MaxBytes)
	return img, nil
}

// checkSpec returns the image's store paths, checking that each is in
// one layer only and that base layers have digests.
func checkSpec(spec Spec) (closureSet, error) {
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
	return closure, nil
}

// storeLayers returns the store-path layers, bottom to top: from the
// cache, or hashed (in parallel, a few at a time: a tar is made and
// hashed, not kept).
func (c *cache) storeLayers(layers [][]string, root string, closure closureSet) ([]Layer, error) {
	out := make([]Layer, len(layers))
	errs := make([]error, len(layers))
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i, paths := range layers {
		sorted := append([]string(nil), paths...)
		sort.Strings(sorted)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			key := cacheVersion + "\x00" + root + "\x00" + strings.Join(sorted, "\x00")
			l, err := c.layer(key, root, sorted, func(w io.Writer) error {
				return writeStorePaths(w, root, sorted, closure)
			})
			if err != nil {
				errs[i] = fmt.Errorf("writing layer %d (%s): %w", i, sorted[0], err)
				return
			}
			l.Paths = sorted
			out[i] = l
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
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

// storeRefs are the store paths the entries' symlinks point into, sorted:
// the root filesystem layer's record goes when one of them leaves the
// store.
func storeRefs(entries []Entry) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Target, StoreDir+"/")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, "/")
		if p := StoreDir + "/" + name; name != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
