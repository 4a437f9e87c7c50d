package output

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nix-docker/nix-docker/internal/image"
)

const storeLib = "/nix/store/0c1hbkr8ls1mv43cbjcqy8gf4m3vmmwq-lib-1.0"

// storeApp is the store path of the app whose script says what: another
// script, another store path, as in Nix.
func storeApp(what string) string {
	return fmt.Sprintf("/nix/store/%032x-app", sha256.Sum256([]byte(what)))[:43] + "-app"
}

// pushImage builds an image of two store-path layers (a library, an app
// whose script says what) and the root filesystem layer, from a fake
// store under root, with its layer cache in cache.
func pushImage(t *testing.T, root, cache, what string) *image.Image {
	t.Helper()
	app := storeApp(what)
	for p, data := range map[string][]byte{
		storeLib + "/lib/libfoo.so": bytes.Repeat([]byte("library code\n"), 4000),
		app + "/bin/app":            []byte("#!/bin/sh\necho " + what + "\n"),
	} {
		f := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, data, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	img, err := image.Build(image.Spec{
		Layers:     [][]string{{storeLib}, {app}},
		Extra:      []image.Entry{{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777}},
		Entrypoint: []string{app + "/bin/app"},
		Root:       root,
		Platform:   image.Platform{Architecture: "amd64", OS: "linux"},
	}, cache)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// testRegistry is go-containerregistry's in-memory registry behind a
// handler that logs requests and can refuse or fail some.
type testRegistry struct {
	srv  *httptest.Server
	host string

	mu       sync.Mutex
	requests []string // "METHOD PATH"
	user     string   // required basic-auth user:password; "" for none
	fail     func(r *http.Request) int
}

// set changes the registry's behaviour under its lock: the handlers of an
// earlier push may still be running.
func (reg *testRegistry) set(change func()) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	change()
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	reg := &testRegistry{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	reg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg.mu.Lock()
		reg.requests = append(reg.requests, r.Method+" "+r.URL.Path)
		user, fail := reg.user, reg.fail
		reg.mu.Unlock()
		if user != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u+":"+p != user {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
		}
		if fail != nil {
			if code := fail(r); code != 0 {
				w.WriteHeader(code)
				fmt.Fprintf(w, `{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"refused by the test"}]}`)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(reg.srv.Close)
	reg.host = strings.TrimPrefix(reg.srv.URL, "http://")
	return reg
}

func (reg *testRegistry) log() []string {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return append([]string(nil), reg.requests...)
}

// keychain gives one user and password for every registry.
type keychain struct{ user, password string }

func (k keychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	if k.user == "" {
		return authn.Anonymous, nil
	}
	return &authn.Basic{Username: k.user, Password: k.password}, nil
}

var fastBackoff = remote.Backoff{Duration: 10 * time.Millisecond, Factor: 1, Steps: 3}

func push(t *testing.T, ref string, img *image.Image, opts PushOptions) (Report, error) {
	t.Helper()
	if opts.Keychain == nil {
		opts.Keychain = keychain{}
	}
	if opts.Backoff.Steps == 0 {
		opts.Backoff = fastBackoff
	}
	if opts.SpoolDir == "" {
		opts.SpoolDir = t.TempDir()
	}
	p, err := NewPush(ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rep, err := p.Deliver(ctx, img)
	if err == nil {
		err = p.Commit(ctx)
	}
	if left, _ := os.ReadDir(opts.SpoolDir); len(left) != 0 {
		t.Errorf("the push left %d files in its spool directory", len(left))
	}
	return rep, err
}

// tagged is the config digest of the image ref names in the registry, or
// "" when it names none.
func tagged(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		return ""
	}
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// TestPush: the image pushed is the image built (same config digest);
// a second push sends nothing; after a change only the changed layer
// goes; the manifest is the last request.
func TestPush(t *testing.T) {
	reg := newTestRegistry(t)
	root, cache := t.TempDir(), t.TempDir()
	ref := reg.host + "/app:v1"
	v1 := pushImage(t, root, cache, "one")
	rep, err := push(t, ref, v1, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.LayersSent != 3 || rep.LayersSkipped != 0 || rep.BytesSent == 0 || rep.ImageID != v1.ID() {
		t.Errorf("first push: %+v, want 3 layers sent", rep)
	}
	reqs := reg.log()
	if last := reqs[len(reqs)-1]; last != "PUT /v2/app/manifests/v1" {
		t.Errorf("last request %q, want the manifest's PUT; all: %v", last, reqs)
	}
	if got := tagged(t, ref); got != v1.ID() {
		t.Errorf("the registry's %s has config %s, want the image's ID %s", ref, got, v1.ID())
	}

	rep, err = push(t, ref, v1, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.LayersSent != 0 || rep.LayersSkipped != 3 || rep.BytesSent != 0 {
		t.Errorf("second push of the same image: %+v, want nothing sent", rep)
	}

	v2 := pushImage(t, root, cache, "two")
	before := len(reg.log())
	rep, err = push(t, reg.host+"/app:v2", v2, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.LayersSent != 1 || rep.LayersSkipped != 2 {
		t.Errorf("push after a change to the app: %+v, want 1 layer sent, 2 skipped", rep)
	}
	patches := 0
	for _, r := range reg.log()[before:] {
		if strings.HasPrefix(r, "PATCH ") {
			patches++
		}
	}
	if patches != 2 { // the app's layer and the config
		t.Errorf("%d blob uploads after a change, want 2 (the app's layer, the config)", patches)
	}
}

// TestPushNotBeforeCommit: Deliver sends the blobs, the tag still names
// the previous image until Commit.
func TestPushNotBeforeCommit(t *testing.T) {
	reg := newTestRegistry(t)
	root, cache := t.TempDir(), t.TempDir()
	ref := reg.host + "/app:v1"
	v1 := pushImage(t, root, cache, "one")
	if _, err := push(t, ref, v1, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	v2 := pushImage(t, root, cache, "two")
	p, err := NewPush(ref, PushOptions{Keychain: keychain{}, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Deliver(context.Background(), v2); err != nil {
		t.Fatal(err)
	}
	if got := tagged(t, ref); got != v1.ID() {
		t.Errorf("after Deliver the tag names %s, want the previous %s", got, v1.ID())
	}
	p.Abort()
	if err := p.Commit(context.Background()); err != nil || tagged(t, ref) != v1.ID() {
		t.Errorf("Commit after Abort: %v; the tag names %s, want %s", err, tagged(t, ref), v1.ID())
	}
}

// TestPushRetries: a question and an upload answered 503, and an upload
// whose answer comes after the transport's time-out, are tried again and
// the push succeeds.
func TestPushRetries(t *testing.T) {
	reg := newTestRegistry(t)
	var mu sync.Mutex
	failed, slowed, heads := 0, 0, 0
	reg.fail = func(r *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodHead && heads == 0 {
			heads++
			return http.StatusServiceUnavailable
		}
		return 0
	}
	inner := reg.fail
	reg.fail = func(r *http.Request) int {
		if code := inner(r); code != 0 {
			return code
		}
		if r.Method != http.MethodPatch {
			return 0
		}
		mu.Lock()
		first, slow := failed == 0, failed > 0 && slowed == 0
		if first {
			failed++
		} else if slow {
			slowed++
		}
		mu.Unlock()
		if first {
			return http.StatusServiceUnavailable
		}
		if slow {
			time.Sleep(3 * time.Second) // past the transport's time-out
		}
		return 0
	}
	tr := PushTransport()
	tr.ResponseHeaderTimeout = time.Second
	img := pushImage(t, t.TempDir(), t.TempDir(), "one")
	rep, err := push(t, reg.host+"/app:v1", img, PushOptions{Transport: tr, Jobs: 1})
	if err != nil {
		t.Fatalf("push with a 503 and a time-out: %v", err)
	}
	if heads != 1 || failed != 1 || slowed != 1 || rep.LayersSent != 3 {
		t.Errorf("503s to a HEAD %d and an upload %d, time-outs %d, report %+v; want one of each and 3 layers sent", heads, failed, slowed, rep)
	}
	if got := tagged(t, reg.host+"/app:v1"); got != img.ID() {
		t.Errorf("tag names %s, want %s", got, img.ID())
	}
}

// TestPushFailures: a wrong password, a refused blob and a stopped
// registry each fail the push with one line that says what happened,
// and leave the tag naming the previous image.
func TestPushFailures(t *testing.T) {
	root, cache := t.TempDir(), t.TempDir()
	v1 := pushImage(t, root, cache, "one")
	v2 := pushImage(t, root, cache, "two")
	for _, c := range []struct {
		name  string
		spoil func(reg *testRegistry)
		want  string
	}{
		{"wrong password", func(reg *testRegistry) { reg.set(func() { reg.user = "user:other" }) }, "the registry refused the credentials (401 Unauthorized)"},
		{"refused blob", func(reg *testRegistry) {
			reg.set(func() {
				reg.fail = func(r *http.Request) int {
					if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") {
						return http.StatusBadRequest
					}
					return 0
				}
			})
		}, "BLOB_UPLOAD_INVALID: refused by the test"},
		{"stopped registry", func(reg *testRegistry) { reg.srv.Close() }, "cannot reach the registry"},
		{"push denied", func(reg *testRegistry) {
			reg.set(func() {
				reg.fail = func(r *http.Request) int {
					if r.Method == http.MethodPost {
						return http.StatusForbidden
					}
					return 0
				}
			})
		}, "the registry denied the push (403 Forbidden)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := newTestRegistry(t)
			reg.user = "user:secret"
			ref := reg.host + "/app:v1"
			creds := keychain{"user", "secret"}
			if _, err := push(t, ref, v1, PushOptions{Keychain: creds}); err != nil {
				t.Fatal(err)
			}
			c.spoil(reg)
			_, err := push(t, ref, v2, PushOptions{Keychain: creds})
			var pe *PushError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "pushing to "+ref+": ") {
				t.Fatalf("push: %v; want one line saying %q", err, c.want)
			}
			t.Logf("%v", err)
			if c.name == "stopped registry" {
				return
			}
			reg.set(func() { reg.user, reg.fail = "", nil })
			if got := tagged(t, ref); got != v1.ID() {
				t.Errorf("after the failed push the tag names %s, want the previous %s", got, v1.ID())
			}
		})
	}
}

// TestPushTLS: a registry whose certificate no CA we trust fails with a
// line that names the fix.
func TestPushTLS(t *testing.T) {
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	img := pushImage(t, t.TempDir(), t.TempDir(), "one")
	// The name its certificate is for, not the loopback's (for which a
	// plain-HTTP fallback is tried).
	host := strings.Replace(strings.TrimPrefix(srv.URL, "https://"), "127.0.0.1", "example.com", 1)
	tr := PushTransport()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	_, err := push(t, host+"/app:v1", img, PushOptions{Transport: tr})
	if err == nil || !strings.Contains(err.Error(), "TLS certificate is not trusted") || !strings.Contains(err.Error(), "SSL_CERT_FILE") {
		t.Errorf("push to an untrusted registry: %v", err)
	}
	tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	if _, err := push(t, host+"/app:v1", img, PushOptions{Transport: tr}); err != nil {
		t.Errorf("push trusting the registry's CA: %v", err)
	}
}

// TestPushInsecure: a plain-HTTP registry under a name that is not the
// loopback's is refused with a line naming --insecure, and taken with it.
func TestPushInsecure(t *testing.T) {
	reg := newTestRegistry(t)
	img := pushImage(t, t.TempDir(), t.TempDir(), "one")
	host := strings.Replace(reg.host, "127.0.0.1", "example.com", 1)
	tr := PushTransport()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, reg.srv.Listener.Addr().String())
	}
	_, err := push(t, host+"/app:v1", img, PushOptions{Transport: tr})
	if err == nil || !strings.Contains(err.Error(), "speaks plain HTTP") || !strings.Contains(err.Error(), "--insecure") {
		t.Errorf("push to a plain-HTTP registry without --insecure: %v", err)
	}
	if _, err := push(t, host+"/app:v1", img, PushOptions{Transport: tr, Insecure: true}); err != nil {
		t.Errorf("push with Insecure: %v", err)
	}
}

// TestNewPush refuses what is not a tag.
func TestNewPush(t *testing.T) {
	for _, ref := range []string{"reg.example/app@sha256:" + strings.Repeat("0", 64), "reg.example/App:v1", "reg.example/app:v 1"} {
		if _, err := NewPush(ref, PushOptions{}); err == nil {
			t.Errorf("NewPush(%q) succeeded", ref)
		}
	}
	p, err := NewPush("reg.example:5000/team/app", PushOptions{})
	if err != nil || p.Ref() != "reg.example:5000/team/app:latest" {
		t.Errorf("NewPush: %v, %v", p, err)
	}
}
