package output

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/nix-docker/nix-docker/internal/image"
	"github.com/nix-docker/nix-docker/internal/oci"
)

// Push sends the image to a registry under a tag, with
// go-containerregistry. Deliver asks the registry which blobs it holds and
// sends only the others (mounted from another repository of the same
// registry when the layer cache remembers one holding them); Commit puts
// the manifest, which moves the tag. Until then the registry's tag names
// what it named before.
type Push struct {
	ref  name.Tag
	opts PushOptions

	pusher *remote.Pusher
	img    *image.Image
	view   v1.Image // what Deliver sent; nil before
	spool  string   // the gzip streams made while learning digests; "" none
}

// PushOptions are a push's settings beside the reference.
type PushOptions struct {
	// Insecure lets the registry speak plain HTTP. (A registry on the
	// loopback interface may without it, as Docker allows.)
	Insecure bool
	// Keychain finds the credentials; nil means Docker's: its config file
	// ($DOCKER_CONFIG/config.json, ~/.docker/config.json) and the
	// credential helpers it names.
	Keychain authn.Keychain
	// Transport carries the requests; nil means PushTransport().
	Transport http.RoundTripper
	// Jobs is how many blobs are sent at once; 0 means DefaultPushJobs.
	Jobs int
	// Backoff is the wait before retrying a request that failed with a
	// 5xx, a 408/429, a time-out or a reset connection; zero means
	// DefaultPushBackoff.
	Backoff remote.Backoff
	// Annotations go into the manifest (oci.Options).
	Annotations map[string]string
	// Log receives a line of progress before the upload; nil discards it.
	Log io.Writer
	// SpoolDir is where a push keeps, for its length, the gzip streams it
	// made to learn layers' digests; "" means DefaultSpoolDir.
	SpoolDir string
}

// DefaultPushJobs is how many blobs a push sends at once.
const DefaultPushJobs = 4

// DefaultPushBackoff retries a failed request three times, after 1, 2 and
// 4 seconds.
var DefaultPushBackoff = remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 4}

// PushTransport is the HTTP transport a push uses by default: the
// environment's proxy settings, the system's CAs (SSL_CERT_FILE and
// SSL_CERT_DIR included, as Go reads them on Linux), and time-outs on
// connecting, the TLS handshake and waiting for an answer, so that a
// registry that stops answering fails the request (which is retried)
// instead of hanging the push.
func PushTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 15 * time.Second
	t.ResponseHeaderTimeout = 2 * time.Minute
	t.MaxIdleConnsPerHost = 16
	return t
}

// SpoolPrefix begins the name of a push's spool directory.
const SpoolPrefix = "push-"

// DefaultSpoolDir is where pushes keep their spools: beside the layer
// cache (on disk, where /tmp may be memory), else the temporary
// directory. A push removes its own; `nix-docker prune` removes those a
// crash left.
func DefaultSpoolDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "nix-docker", "spool")
	}
	return os.TempDir()
}

// NewPush returns the output that pushes to ref, a REGISTRY/NAME[:TAG]
// reference (":latest" when it has no tag).
func NewPush(ref string, opts PushOptions) (*Push, error) {
	var nameOpts []name.Option
	if opts.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	if strings.Contains(ref, "@") {
		return nil, fmt.Errorf("--push %s: give a tag (REGISTRY/NAME:TAG), not a digest", ref)
	}
	tag, err := name.NewTag(ref, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("--push %s: %w", ref, err)
	}
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	if opts.Transport == nil {
		opts.Transport = PushTransport()
	}
	if opts.Jobs <= 0 {
		opts.Jobs = DefaultPushJobs
	}
	if opts.Backoff.Steps == 0 {
		opts.Backoff = DefaultPushBackoff
	}
	return &Push{ref: tag, opts: opts}, nil
}

func (p *Push) Name() string          { return "registry" }
func (p *Push) NeedsBaseLayers() bool { return true }

// Ref is the reference pushed to, in full (REGISTRY/REPOSITORY:TAG).
func (p *Push) Ref() string { return p.ref.Name() }

// Deliver sends every blob of img the registry lacks; the manifest waits
// for Commit.
func (p *Push) Deliver(ctx context.Context, img *image.Image) (Report, error) {
	repo := p.ref.Context()
	auth, err := authn.Resolve(ctx, p.opts.Keychain, repo)
	if err != nil {
		return Report{}, p.explain(fmt.Errorf("reading credentials: %w", err))
	}
	p.pusher, err = remote.NewPusher(remote.WithContext(ctx), remote.WithAuth(auth),
		remote.WithTransport(p.opts.Transport), remote.WithJobs(p.opts.Jobs),
		remote.WithRetryBackoff(p.opts.Backoff), remote.WithRetryPredicate(retryable))
	if err != nil {
		return Report{}, p.explain(err)
	}
	// Ask first, before compressing anything: a registry that cannot be
	// reached or refuses the credentials fails the push at once.
	client, err := p.client(ctx, auth)
	if err != nil {
		return Report{}, p.explain(err)
	}
	// A layer compressed to learn its digest is kept in the spool until
	// the push ends, so that sending it does not compress it again.
	if p.opts.SpoolDir == "" {
		p.opts.SpoolDir = DefaultSpoolDir()
	}
	os.MkdirAll(p.opts.SpoolDir, 0o755)
	p.spool, err = os.MkdirTemp(p.opts.SpoolDir, SpoolPrefix+"*")
	if err != nil {
		return Report{}, fmt.Errorf("making the push's spool: %w", err)
	}
	view, err := oci.Image(img, oci.Options{Annotations: p.opts.Annotations, Spool: p.spool})
	if err != nil {
		p.Abort()
		return Report{}, err
	}
	blobs, err := p.missing(ctx, client, img, view)
	if err != nil {
		p.Abort()
		return Report{}, p.explain(err)
	}
	r, err := p.send(ctx, img, view, blobs)
	os.RemoveAll(p.spool)
	if err != nil {
		p.Abort()
		return Report{}, p.explain(err)
	}
	p.img, p.view = img, view
	return r, nil
}

// blob is one blob of the image and what the registry said of it.
type blob struct {
	layer v1.Layer // the config, or an image layer
	index int      // the layer's index in the image; -1 for the config
	have  bool     // the registry holds it in the repository
}

// client is an HTTP client that speaks to the repository with the
// credentials; making it reaches the registry (its /v2/ endpoint).
func (p *Push) client(ctx context.Context, auth authn.Authenticator) (*http.Client, error) {
	repo := p.ref.Context()
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, p.opts.Transport, []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: rt}, nil
}

// missing lists the image's blobs (config first, then the layers bottom
// to top, each digest once) and asks the registry, a few at a time,
// which the repository holds.
func (p *Push) missing(ctx context.Context, client *http.Client, img *image.Image, view v1.Image) ([]blob, error) {
	if _, err := view.RawManifest(); err != nil { // compresses the layers not yet known
		return nil, err
	}
	blobs := []blob{{layer: static.NewLayer(img.Config, types.OCIConfigJSON), index: -1}}
	ls, _ := view.Layers()
	seen := map[v1.Hash]bool{}
	for i, l := range ls {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		if !seen[d] {
			seen[d] = true
			blobs = append(blobs, blob{layer: l, index: i})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opts.Jobs * 2)
	for i := range blobs {
		g.Go(func() error {
			d, _ := blobs[i].layer.Digest()
			have, err := p.has(gctx, client, d)
			blobs[i].have = have
			return err
		})
	}
	return blobs, g.Wait()
}

// has asks the registry whether the repository holds the blob d.
func (p *Push) has(ctx context.Context, client *http.Client, d v1.Hash) (bool, error) {
	repo := p.ref.Context()
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", repo.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), d)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK, http.StatusNotFound); err != nil {
		return false, err
	}
	return resp.StatusCode == http.StatusOK, nil
}

// send uploads the blobs the registry lacks, a few at a time, mounting
// those another repository of the registry holds.
func (p *Push) send(ctx context.Context, img *image.Image, view v1.Image, blobs []blob) (Report, error) {
	repo := p.ref.Context()
	var sent atomic.Int64
	var mu sync.Mutex
	r := Report{Output: p.Name(), ImageID: img.ID()}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opts.Jobs)
	todo := 0
	for _, b := range blobs {
		if b.have {
			if b.index >= 0 {
				r.LayersSkipped++
			}
			continue
		}
		todo++
		counted := &countedLayer{Layer: b.layer, sent: &sent}
		var up v1.Layer = counted
		var from string
		if b.index >= 0 {
			from = p.mountSource(img.Layers[b.index])
		}
		if from != "" {
			src, err := name.NewRepository(from, name.WeakValidation)
			if err == nil {
				up = &remote.MountableLayer{Layer: counted, Reference: src.Tag("latest")}
			}
		}
		g.Go(func() error {
			if err := p.pusher.Upload(gctx, repo, up); err != nil {
				d, _ := b.layer.Digest()
				return &blobError{what: describe(img, b.index, d), err: err}
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case b.index < 0:
			case counted.read.Load():
				r.LayersSent++
			default:
				r.LayersMounted++
			}
			return nil
		})
	}
	if p.opts.Log != nil {
		fmt.Fprintf(p.opts.Log, "pushing to %s: %d of %d blobs to send, the registry holds the others\n", p.ref.Name(), todo, len(blobs))
	}
	if err := g.Wait(); err != nil {
		return Report{}, err
	}
	r.BytesSent = sent.Load()
	d, err := view.Digest()
	if err != nil {
		return Report{}, err
	}
	r.Summary = fmt.Sprintf("pushed %s as %s@%s", img.ID(), p.ref.Name(), d)
	r.Detail = fmt.Sprintf("%d layers uploaded (%s), %d mounted from another repository, %d already in the registry", r.LayersSent, ByteSize(r.BytesSent), r.LayersMounted, r.LayersSkipped)
	return r, nil
}

// mountSource is a repository of the push's registry, other than its
// own, that the layer cache remembers holding the layer's blob; "" when
// none.
func (p *Push) mountSource(l image.Layer) string {
	repo := p.ref.Context()
	for _, r := range l.PushedTo() {
		if r != repo.Name() && strings.HasPrefix(r, repo.RegistryStr()+"/") {
			return r
		}
	}
	return ""
}

// describe names a blob in an error: the config, or a layer and its
// first store path.
func describe(img *image.Image, index int, d v1.Hash) string {
	if index < 0 {
		return "the config " + d.String()
	}
	l := img.Layers[index]
	switch {
	case len(l.Paths) > 0:
		return fmt.Sprintf("layer %s (%s)", d, l.Paths[0])
	case l.Base:
		return fmt.Sprintf("layer %s (of the base image)", d)
	}
	return fmt.Sprintf("layer %s (the root filesystem)", d)
}

// blobError is a blob that could not be sent.
type blobError struct {
	what string // the blob, in words
	err  error
}

func (e *blobError) Error() string { return "sending " + e.what + ": " + e.err.Error() }
func (e *blobError) Unwrap() error { return e.err }

// countedLayer counts the compressed bytes read from a layer, so the
// report can tell an uploaded layer (read) from a mounted one.
type countedLayer struct {
	v1.Layer
	sent *atomic.Int64
	read atomic.Bool
}

func (c *countedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := c.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	c.read.Store(true)
	return &countingReader{rc: rc, n: c.sent}, nil
}

type countingReader struct {
	rc io.ReadCloser
	n  *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.rc.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Close() error { return c.rc.Close() }

// Commit puts the manifest under the tag: the tag moves now, or not at
// all. The layer cache then remembers the repository holds the layers.
func (p *Push) Commit(ctx context.Context) error {
	if p.view == nil {
		return nil
	}
	if err := p.pusher.Put(ctx, p.ref, p.view); err != nil {
		if errors.Is(err, context.Canceled) {
			return &PushError{Ref: p.ref.Name(), Msg: "interrupted while the manifest was being sent: the tag may have moved", Err: err}
		}
		return p.explain(fmt.Errorf("putting the manifest: %w", err))
	}
	for _, l := range p.img.Layers {
		l.Pushed(p.ref.Context().Name())
	}
	p.view = nil
	return nil
}

// Abort leaves the blobs Deliver sent: no manifest names them, and the
// registry's garbage collection removes them.
func (p *Push) Abort() {
	p.view = nil
	if p.spool != "" {
		os.RemoveAll(p.spool)
		p.spool = ""
	}
}

// retryable tells which failed requests are tried again: time-outs,
// connections reset or cut, and what the registry calls temporary (the
// 5xx, 408 and 429 answers are retried by status code).
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var te interface{ Temporary() bool }
	if errors.As(err, &te) && te.Temporary() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// PushError is a failed push, said in one line.
type PushError struct {
	Ref string
	Msg string
	Err error
}

func (e *PushError) Error() string { return "pushing to " + e.Ref + ": " + e.Msg }
func (e *PushError) Unwrap() error { return e.Err }

// explain turns what went wrong into one line that says what to do.
func (p *Push) explain(err error) error {
	if err == nil {
		return nil
	}
	reg := p.ref.RegistryStr()
	msg := oneLine(err.Error())
	var terr *transport.Error
	var unknownCA x509.UnknownAuthorityError
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var opErr *net.OpError
	var blobErr *blobError
	switch {
	case errors.Is(err, context.Canceled):
		msg = "interrupted before the manifest was sent: the tag was not moved"
	case errors.As(err, &terr) && terr.StatusCode == http.StatusUnauthorized:
		msg = fmt.Sprintf("the registry refused the credentials (401 Unauthorized): log in with `docker login %s` (nix-docker reads Docker's config file and credential helpers)", reg)
	case errors.As(err, &terr) && terr.StatusCode == http.StatusForbidden:
		msg = fmt.Sprintf("the registry denied the push (403 Forbidden): the credentials for %s may not push to %s: %s", reg, p.ref.Context().RepositoryStr(), msg)
	case errors.As(err, &unknownCA), errors.As(err, &certErr), errors.As(err, &hostErr):
		msg = fmt.Sprintf("the registry's TLS certificate is not trusted (%s): add its CA to the system's, or name a CA bundle in SSL_CERT_FILE", msg)
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		msg = "the registry speaks plain HTTP, not HTTPS: pass --insecure if that is intended"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		msg = fmt.Sprintf("cannot reach the registry %s: %s", reg, oneLine(opErr.Err.Error()))
	case errors.As(err, &blobErr) && errors.As(err, &terr):
		msg = fmt.Sprintf("the registry refused %s: %d %s", blobErr.what, terr.StatusCode, diagnostics(terr))
	}
	return &PushError{Ref: p.ref.Name(), Msg: msg, Err: err}
}

// diagnostics are the registry's error codes and messages, or the HTTP
// status text when it gave none.
func diagnostics(e *transport.Error) string {
	var parts []string
	for _, d := range e.Errors {
		parts = append(parts, oneLine(fmt.Sprintf("%s: %s", d.Code, d.Message)))
	}
	if len(parts) == 0 {
		return http.StatusText(e.StatusCode)
	}
	return strings.Join(parts, "; ")
}

// oneLine keeps an error message to one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i] + " ..."
	}
	return s
}
