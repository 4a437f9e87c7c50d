package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
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
	Layers [][]string // store paths per layer, bottom to top (from layers.Plan)
	// Extra are the root filesystem entries (outside /nix): in one extra
	// layer on top, or, with ExtraInTop, in the topmost layer of Layers.
	Extra []Entry
	// ExtraInTop puts Extra into the topmost store-path layer instead of
	// a layer of its own, for entries that change whenever that layer's
	// paths do (links into the app's system path): one layer to send
	// where there would be two. Without Layers, Extra is a layer anyway.
	ExtraInTop   bool
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
	Extra  bool     // the layer holds Spec.Extra (alone, or with Paths)
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
// store when they are read (Layer.Open). With ExtraInTop, the topmost
// store-path layer is cached under its store paths and the entries.
// cacheDir "" means DefaultCacheDir.
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
	extra := append([]Entry(nil), spec.Extra...)
	inTop := spec.ExtraInTop && len(spec.Layers) > 0 && len(extra) > 0
	var top []Entry
	if inTop {
		top = extra
	}
	own, err := c.storeLayers(spec.Layers, root, closure, top)
	if err != nil {
		return nil, err
	}
	var base []Layer
	for _, l := range spec.Base {
		base = append(base, c.baseLayer(l))
	}
	img := &Image{Layers: append(base, own...)}
	if len(extra) > 0 && !inTop {
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
		l.Extra = true
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
// one layer only, that base layers have digests, and that root entries
// stay out of /nix.
func checkSpec(spec Spec) (closureSet, error) {
	closure := closureSet{}
	for _, e := range spec.Extra {
		if p := path.Clean("/" + e.Path); p == "/nix" || strings.HasPrefix(p, "/nix/") {
			return nil, fmt.Errorf("extra entry %q: /nix holds the store paths only", e.Path)
		}
	}
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
// hashed, not kept). top, when not empty, are root entries that go into
// the topmost layer.
func (c *cache) storeLayers(layers [][]string, root string, closure closureSet, top []Entry) ([]Layer, error) {
	var topKey string
	if len(top) > 0 {
		k, err := extraKey(top)
		if err != nil {
			return nil, err
		}
		topKey = "\x00with\x00" + k
	}
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
			refs, entries := sorted, []Entry(nil)
			if i == len(layers)-1 && topKey != "" {
				key += topKey
				refs, entries = unionSorted(sorted, storeRefs(top)), top
			}
			l, err := c.layer(key, root, refs, func(w io.Writer) error {
				return writeLayer(w, root, sorted, entries, closure)
			})
			if err != nil {
				errs[i] = fmt.Errorf("writing layer %d (%s): %w", i, sorted[0], err)
				return
			}
			l.Paths, l.Extra = sorted, entries != nil
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

// unionSorted is the sorted union of two sorted lists.
func unionSorted(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
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
