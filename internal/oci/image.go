package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nix-docker/nix-docker/internal/image"
)

// The OCI annotations (image-spec's annotations.md) that registries show.
const (
	AnnotationSource   = "org.opencontainers.image.source"   // where the app's source lives, a URL
	AnnotationRevision = "org.opencontainers.image.revision" // the source's version, a commit
	AnnotationTitle    = "org.opencontainers.image.title"    // the image's name
	AnnotationCreated  = "org.opencontainers.image.created"  // RFC 3339, the config's created time
)

// Options are what the manifest carries besides the image.
type Options struct {
	// Annotations go into the manifest (not the config: the config, and
	// so the image ID, stays the engine's). Empty values are left out.
	// The config's created time is added as AnnotationCreated unless set.
	Annotations map[string]string
	// Spool is a directory where the manifest's making keeps the gzip
	// streams it had to make to learn their digests (layers the cache
	// knew nothing of), so that sending them reads the file instead of
	// compressing again; "" keeps nothing. The caller removes it.
	Spool string
}

// Image returns img as a v1.Image. Computing its manifest (RawManifest,
// Digest, Size, LayerByDigest, a layer's Digest) compresses the layers
// whose compressed digests are not yet known, a few at a time; reading a
// layer's Compressed or Uncompressed makes its bytes again.
func Image(img *image.Image, opts Options) (v1.Image, error) {
	if img == nil || len(img.Layers) == 0 {
		return nil, errors.New("an image needs at least one layer")
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(img.Config))
	if err != nil {
		return nil, fmt.Errorf("reading the image config: %w", err)
	}
	out := &ociImage{img: img, cfg: cfg, annotations: map[string]string{}}
	if !cfg.Created.IsZero() {
		out.annotations[AnnotationCreated] = cfg.Created.UTC().Format(time.RFC3339)
	}
	for k, v := range opts.Annotations {
		if v == "" {
			delete(out.annotations, k)
			continue
		}
		out.annotations[k] = v
	}
	for _, l := range img.Layers {
		out.layers = append(out.layers, &Layer{l: l, spoolDir: opts.Spool})
	}
	return out, nil
}

// ociImage implements v1.Image.
type ociImage struct {
	img         *image.Image
	cfg         *v1.ConfigFile
	annotations map[string]string
	layers      []*Layer

	once     sync.Once
	manifest []byte
	err      error
}

var _ v1.Image = (*ociImage)(nil)

func (i *ociImage) Layers() ([]v1.Layer, error) {
	out := make([]v1.Layer, len(i.layers))
	for n, l := range i.layers {
		out[n] = l
	}
	return out, nil
}

func (i *ociImage) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

func (i *ociImage) ConfigName() (v1.Hash, error) { return v1.NewHash(i.img.ID()) }

func (i *ociImage) ConfigFile() (*v1.ConfigFile, error) { return i.cfg.DeepCopy(), nil }

func (i *ociImage) RawConfigFile() ([]byte, error) { return i.img.Config, nil }

func (i *ociImage) Size() (int64, error) {
	b, err := i.RawManifest()
	return int64(len(b)), err
}

func (i *ociImage) Digest() (v1.Hash, error) {
	b, err := i.RawManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(b))
	return h, err
}

func (i *ociImage) Manifest() (*v1.Manifest, error) {
	b, err := i.RawManifest()
	if err != nil {
		return nil, err
	}
	return v1.ParseManifest(bytes.NewReader(b))
}

// RawManifest is the OCI manifest: config, layers bottom to top, and the
// annotations. It is made once; the layers' compressed digests are
// computed first, in parallel.
func (i *ociImage) RawManifest() ([]byte, error) {
	i.once.Do(func() { i.manifest, i.err = i.makeManifest() })
	return i.manifest, i.err
}

func (i *ociImage) makeManifest() ([]byte, error) {
	blobs, err := compressAll(i.layers)
	if err != nil {
		return nil, err
	}
	cfgDigest, err := v1.NewHash(i.img.ID())
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(i.img.Config)), Digest: cfgDigest},
		Layers:        make([]v1.Descriptor, len(blobs)),
	}
	if len(i.annotations) > 0 {
		m.Annotations = i.annotations
	}
	for n, b := range blobs {
		h, err := v1.NewHash(b.Digest)
		if err != nil {
			return nil, err
		}
		m.Layers[n] = v1.Descriptor{MediaType: types.OCILayer, Size: b.Size, Digest: h}
	}
	return json.Marshal(m)
}

// compressAll returns the layers' Blobs, computing those not yet known a
// few at a time (compressing is bound by the CPU).
func compressAll(layers []*Layer) ([]image.Blob, error) {
	blobs := make([]image.Blob, len(layers))
	errs := make([]error, len(layers))
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for n, l := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			b, err := l.blob()
			if err != nil {
				err = fmt.Errorf("compressing layer %s: %w", l.l.DiffID, err)
			}
			blobs[n], errs[n] = b, err
		}()
	}
	wg.Wait()
	return blobs, errors.Join(errs...)
}

func (i *ociImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	if h.String() == i.img.ID() {
		return static.NewLayer(i.img.Config, types.OCIConfigJSON), nil
	}
	if _, err := i.RawManifest(); err != nil {
		return nil, err
	}
	for _, l := range i.layers {
		if d, err := l.Digest(); err == nil && d == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("the image has no blob %s", h)
}

func (i *ociImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	for _, l := range i.layers {
		if l.l.DiffID == h.String() {
			return l, nil
		}
	}
	return nil, fmt.Errorf("the image has no layer %s", h)
}

// Layer is one of the image's layers as a v1.Layer: a gzip stream of
// media type types.OCILayer. Image returns them.
type Layer struct {
	l        image.Layer
	spoolDir string // where to keep a gzip stream made to learn its digest; "" nowhere

	mu    sync.Mutex
	spool *spooled // the gzip stream kept; nil: none
}

// spooled is a layer's gzip stream kept in a file.
type spooled struct {
	file string
	blob image.Blob
}

// blob returns the layer's Blob, compressing the layer when it is not
// known (once: callers at the same time wait for the first); with a spool
// directory the gzip stream made is kept there.
func (l *Layer) blob() (image.Blob, error) {
	if b, ok := l.l.KnownCompressed(); ok {
		return b, nil
	}
	if l.spoolDir == "" {
		return l.l.Compressed()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.spool != nil {
		return l.spool.blob, nil
	}
	if b, ok := l.l.KnownCompressed(); ok {
		return b, nil
	}
	f, err := os.CreateTemp(l.spoolDir, "layer-*.gz")
	if err != nil {
		return image.Blob{}, err
	}
	b, err := l.l.CompressTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return image.Blob{}, err
	}
	l.spool = &spooled{file: f.Name(), blob: b}
	return b, nil
}

// Image returns the layer as package image knows it (store paths, the
// uncompressed size).
func (l *Layer) Image() image.Layer { return l.l }

func (l *Layer) Digest() (v1.Hash, error) {
	b, err := l.blob()
	if err != nil {
		return v1.Hash{}, err
	}
	return v1.NewHash(b.Digest)
}

func (l *Layer) DiffID() (v1.Hash, error) { return v1.NewHash(l.l.DiffID) }

// Compressed is the layer's gzip stream: the spool file when the
// manifest's making kept one (and it is still there), else made again.
func (l *Layer) Compressed() (io.ReadCloser, error) {
	l.mu.Lock()
	sp := l.spool
	l.mu.Unlock()
	if sp != nil {
		if f, err := os.Open(sp.file); err == nil {
			if st, err := f.Stat(); err == nil && st.Size() == sp.blob.Size {
				return f, nil
			}
			f.Close()
		}
	}
	return l.l.OpenCompressed()
}

func (l *Layer) Uncompressed() (io.ReadCloser, error) { return l.l.Open() }

func (l *Layer) Size() (int64, error) {
	b, err := l.blob()
	return b.Size, err
}

func (l *Layer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
