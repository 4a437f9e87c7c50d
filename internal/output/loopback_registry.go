package output

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nix-docker/nix-docker/internal/docker"
)

// loopbackRegistry serves one image, read only, on 127.0.0.1 for the
// length of a load: an engine pulls from it, fetching only the blobs it
// lacks, and it counts what was fetched. Only a client with its random
// credentials gets anything, so other users of the machine cannot read
// the image while it is served. The protocol is go-containerregistry's
// registry; the manifest and blobs come from the image, read when asked
// for.
type loopbackRegistry struct {
	host  string // 127.0.0.1:PORT
	repo  string
	tag   string
	creds docker.Credentials
	srv   *http.Server
	done  chan struct{}

	manifest       []byte
	manifestType   string
	manifestDigest string
	blobs          map[v1.Hash]servedBlob

	mu      sync.Mutex
	fetched map[v1.Hash]bool // layers fetched
	bytes   int64            // manifest and blob bytes sent
}

// servedBlob is a config or a layer, opened when fetched.
type servedBlob struct {
	size  int64
	layer bool
	open  func() (io.ReadCloser, error)
}

// serveImage starts serving img as repo:tag on a free port of 127.0.0.1.
// Computing the manifest may compress the layers whose compressed digest
// is not known yet.
func serveImage(img v1.Image, repo, tag string) (*loopbackRegistry, error) {
	r := &loopbackRegistry{repo: repo, tag: tag, blobs: map[v1.Hash]servedBlob{}, fetched: map[v1.Hash]bool{}, done: make(chan struct{})}
	if err := r.index(img); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("serving the image on 127.0.0.1: %w", err)
	}
	r.host = ln.Addr().String()
	r.creds = docker.Credentials{Username: "nix-docker", Password: randomHex(16), ServerAddress: r.host}
	blobs := registry.New(registry.WithBlobHandler(r), registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = &http.Server{Handler: r.handler(blobs), ReadHeaderTimeout: 30 * time.Second}
	go func() {
		defer close(r.done)
		r.srv.Serve(ln)
	}()
	return r, nil
}

// index reads img's manifest and lists its blobs.
func (r *loopbackRegistry) index(img v1.Image) error {
	var err error
	if r.manifest, err = img.RawManifest(); err != nil {
		return fmt.Errorf("making the image's manifest: %w", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	r.manifestType, r.manifestDigest = string(mt), d.String()
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	r.blobs[m.Config.Digest] = servedBlob{size: int64(len(cfg)), open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(string(cfg))), nil
	}}
	for _, desc := range m.Layers {
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return fmt.Errorf("layer %s: %w", desc.Digest, err)
		}
		r.blobs[desc.Digest] = servedBlob{size: desc.Size, layer: true, open: l.Compressed}
	}
	return nil
}

// Ref is the image's reference on this registry.
func (r *loopbackRegistry) Ref() string { return r.host + "/" + r.repo + ":" + r.tag }

// Close stops serving and waits until the server is gone.
func (r *loopbackRegistry) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r.srv.Shutdown(ctx) != nil {
		r.srv.Close()
	}
	<-r.done
}

// Fetched is how many layers were fetched and the bytes sent in all.
func (r *loopbackRegistry) Fetched() (layers int, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.fetched), r.bytes
}

// handler checks the credentials, answers for the manifest, and leaves
// the rest (the API check, blobs) to go-containerregistry's registry.
func (r *loopbackRegistry) handler(rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		user, pass, ok := req.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(r.creds.Username)) != 1 || subtle.ConstantTimeCompare([]byte(pass), []byte(r.creds.Password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="nix-docker"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		prefix := "/v2/" + r.repo + "/manifests/"
		if ref, ok := strings.CutPrefix(req.URL.Path, prefix); ok {
			r.serveManifest(w, req, ref)
			return
		}
		rest.ServeHTTP(w, req)
	})
}

func (r *loopbackRegistry) serveManifest(w http.ResponseWriter, req *http.Request, ref string) {
	if ref != r.tag && ref != r.manifestDigest {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown manifest"}]}`)
		return
	}
	w.Header().Set("Content-Type", r.manifestType)
	w.Header().Set("Docker-Content-Digest", r.manifestDigest)
	w.Header().Set("Content-Length", fmt.Sprint(len(r.manifest)))
	if req.Method == http.MethodHead {
		return
	}
	n, _ := w.Write(r.manifest)
	r.mu.Lock()
	r.bytes += int64(n)
	r.mu.Unlock()
}

// Stat tells a blob's size (registry.BlobStatHandler).
func (r *loopbackRegistry) Stat(_ context.Context, repo string, h v1.Hash) (int64, error) {
	b, ok := r.blobs[h]
	if !ok || repo != r.repo {
		return 0, registry.ErrNotFound
	}
	return b.size, nil
}

// Get opens a blob (registry.BlobHandler) and counts what is read of it.
func (r *loopbackRegistry) Get(_ context.Context, repo string, h v1.Hash) (io.ReadCloser, error) {
	b, ok := r.blobs[h]
	if !ok || repo != r.repo {
		return nil, registry.ErrNotFound
	}
	rc, err := b.open()
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	if b.layer {
		r.mu.Lock()
		r.fetched[h] = true
		r.mu.Unlock()
	}
	return &servedBlobReader{rc: rc, r: r}, nil
}

type servedBlobReader struct {
	rc io.ReadCloser
	r  *loopbackRegistry
}

func (c *servedBlobReader) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.r.mu.Lock()
	c.r.bytes += int64(n)
	c.r.mu.Unlock()
	return n, err
}

func (c *servedBlobReader) Close() error { return c.rc.Close() }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
