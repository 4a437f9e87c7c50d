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

	"github.com/nix-docker/nix-docker/internal/cachedir"
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

// DefaultSpoolDir is where pushes keep their spools: spool in
// nix-docker's cache root (cachedir.Root: on disk, where /tmp may be
// memory), else, when even that is refused, a directory of the push's own
// in the temporary directory (Push makes it with os.MkdirTemp). A push
// removes its own; `nix-docker prune` removes those a crash left.
func DefaultSpoolDir() string {
	if d, err := cachedir.Root(); err == nil {
		return filepath.Join(d, "spool")
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
		remote.WithRetryBackoff(p.opts.Backoff), remote.WithRetryPredicate(retryable),
		remote.WithRetryStatusCodes(retryCodes...))
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
	if err == nil {
		var r Report
		if r, err = p.sendAll(ctx, client, img, view); err == nil {
			os.RemoveAll(p.spool)
			p.spool, p.img, p.view = "", img, view
			return r, nil
		}
	}
	p.Abort()
	return Report{}, p.explain(err)
}

// retryCodes are the answers a request is retried on.
var retryCodes = []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// client is an HTTP client that speaks to the repository with the
// credentials, retrying as the uploads do; making it reaches the registry
// (its /v2/ endpoint).
func (p *Push) client(ctx context.Context, auth authn.Authenticator) (*http.Client, error) {
	repo := p.ref.Context()
	retrying := transport.NewRetry(p.opts.Transport, transport.WithRetryBackoff(p.opts.Backoff),
		transport.WithRetryPredicate(retryable), transport.WithRetryStatusCodes(retryCodes...))
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, retrying, []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: rt}, nil
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

// sendAll sends the image's blobs (the config, then each distinct
// layer), a few at a time, each as soon as its digest is known: a layer
// the cache knows nothing of is compressed (into the spool) while others
// are asked about or sent. The registry is asked whether the repository
// holds each; a layer another repository of the registry holds is
// mounted from it.
func (p *Push) sendAll(ctx context.Context, client *http.Client, img *image.Image, view v1.Image) (Report, error) {
	ls, err := view.Layers()
	if err != nil {
		return Report{}, err
	}
	r := Report{Output: p.Name(), ImageID: img.ID()}
	var sent atomic.Int64
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opts.Jobs)
	// The blobs: the config (index -1), then each distinct layer.
	todo, unknown := []int{-1}, 0
	seen := map[string]bool{}
	for i, l := range img.Layers {
		if !seen[l.DiffID] {
			seen[l.DiffID] = true
			todo = append(todo, i)
			if _, ok := l.KnownCompressed(); !ok {
				unknown++
			}
		}
	}
	if p.opts.Log != nil {
		fmt.Fprintf(p.opts.Log, "pushing to %s: %d blobs, %d layers to compress first\n", p.ref.Name(), len(todo), unknown)
	}
	for _, i := range todo {
		var l v1.Layer = static.NewLayer(img.Config, types.OCIConfigJSON)
		if i >= 0 {
			l = ls[i]
		}
		g.Go(func() error {
			outcome, err := p.sendOne(gctx, client, img, i, l, &sent)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case i < 0:
			case outcome == "sent":
				r.LayersSent++
			case outcome == "mounted":
				r.LayersMounted++
			default:
				r.LayersSkipped++
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Report{}, err
	}
	d, err := view.Digest()
	if err != nil {
		return Report{}, err
	}
	r.BytesSent = sent.Load()
	r.Summary = fmt.Sprintf("pushed %s as %s@%s", img.ID(), p.ref.Name(), d)
	r.Detail = fmt.Sprintf("%s uploaded (%s), %d mounted from another repository, %d already in the registry", Layers(r.LayersSent), ByteSize(r.BytesSent), r.LayersMounted, r.LayersSkipped)
	return r, nil
}

// sendOne sends one blob (index -1: the config) unless the repository
// holds it, and says what it did: "held", "mounted" or "sent".
func (p *Push) sendOne(ctx context.Context, client *http.Client, img *image.Image, index int, l v1.Layer, sent *atomic.Int64) (string, error) {
	d, err := l.Digest() // compresses the layer if its digest is not known
	if err != nil {
		return "", err
	}
	if have, err := p.has(ctx, client, d); err != nil || have {
		return "held", err
	}
	counted := &countedLayer{Layer: l, sent: sent}
	var up v1.Layer = counted
	if index >= 0 {
		if from := p.mountSource(img.Layers[index]); from != "" {
			if src, err := name.NewRepository(from, name.WeakValidation); err == nil {
				up = &remote.MountableLayer{Layer: counted, Reference: src.Tag("latest")}
			}
		}
	}
	if err := p.pusher.Upload(ctx, p.ref.Context(), up); err != nil {
		return "", &blobError{what: describe(img, index, d), err: err}
	}
	if counted.read.Load() {
		return "sent", nil
	}
	return "mounted", nil
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
		msg = fmt.Sprintf("the registry denied the push (403 Forbidden): the credentials for %s may not push to %s (%s)", reg, p.ref.Context().RepositoryStr(), diagnostics(terr))
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
