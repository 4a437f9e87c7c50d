package output

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/nix-docker/nix-docker/internal/docker"
)

// fakeClient is an engine that loads docker-archives (every layer
// included) and cannot reach any registry.
type fakeClient struct {
	images map[string]image.InspectResponse // by ID and by name
	pulls  int
	tags   int // ImageTag calls
}

func newFakeClient() *fakeClient { return &fakeClient{images: map[string]image.InspectResponse{}} }

func (f *fakeClient) names() []string {
	var out []string
	for k := range f.images {
		if !strings.HasPrefix(k, "sha256:") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (f *fakeClient) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	img, ok := f.images[ref]
	if !ok {
		return image.InspectResponse{}, cerrdefs.ErrNotFound.WithMessage("No such image: " + ref)
	}
	img.RepoTags = nil
	for _, n := range f.names() {
		if f.images[n].ID == img.ID {
			img.RepoTags = append(img.RepoTags, n)
		}
	}
	return img, nil
}

func (f *fakeClient) ImageLoad(_ context.Context, r io.Reader, _ ...client.ImageLoadOption) (image.LoadResponse, error) {
	var m []struct {
		Config   string
		RepoTags []string
	}
	configs := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			return image.LoadResponse{}, err
		}
		b, _ := io.ReadAll(tr)
		if h.Name == "manifest.json" {
			json.Unmarshal(b, &m)
		} else if strings.HasSuffix(h.Name, ".json") {
			configs[h.Name] = b
		}
	}
	var cfg struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	json.Unmarshal(configs[m[0].Config], &cfg)
	img := image.InspectResponse{ID: "sha256:" + strings.TrimSuffix(m[0].Config, ".json"), RootFS: image.RootFS{Type: "layers", Layers: cfg.RootFS.DiffIDs}}
	f.images[img.ID] = img
	for _, t := range m[0].RepoTags {
		f.images[t] = img
	}
	return image.LoadResponse{Body: io.NopCloser(strings.NewReader(`{"stream":"Loaded image: ` + m[0].RepoTags[0] + `\n"}`))}, nil
}

func (f *fakeClient) ImageTag(_ context.Context, source, target string) error {
	f.tags++
	img, ok := f.images[source]
	if !ok {
		return cerrdefs.ErrNotFound.WithMessage("No such image: " + source)
	}
	f.images[target] = img
	return nil
}

func (f *fakeClient) ImageRemove(_ context.Context, ref string, _ image.RemoveOptions) ([]image.DeleteResponse, error) {
	img, ok := f.images[ref]
	if !ok {
		return nil, cerrdefs.ErrNotFound.WithMessage("No such image: " + ref)
	}
	delete(f.images, ref)
	for k, v := range f.images {
		if v.ID == img.ID && k != img.ID {
			return nil, nil
		}
	}
	delete(f.images, img.ID)
	return nil, nil
}

func (f *fakeClient) ImagePull(context.Context, string, image.PullOptions) (io.ReadCloser, error) {
	f.pulls++
	return nil, errors.New("Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused")
}

func (f *fakeClient) ImageList(context.Context, image.ListOptions) ([]image.Summary, error) {
	return nil, nil
}

func (f *fakeClient) HTTPClient() *http.Client { return http.DefaultClient }
func (f *fakeClient) DaemonHost() string       { return "unix:///fake.sock" }

var containerdStore = docker.Engine{Product: "Docker", Store: docker.StoreContainerd, Local: true, Host: "unix:///fake.sock"}

// TestLoopbackFallback: when the engine cannot pull from the loopback
// registry, the full archive goes instead; nothing is tagged before
// Commit, and only the tag remains after it.
func TestLoopbackFallback(t *testing.T) {
	ctx := context.Background()
	f := newFakeClient()
	l := NewLoopback(f, containerdStore, "app:1")
	img := smallImage(t, "/one")
	rep, err := l.Deliver(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if f.pulls != 1 || !strings.Contains(rep.Fallback, "connection refused") || !strings.Contains(rep.Detail, "via the full docker-archive") {
		t.Errorf("Deliver: %d pulls, report %+v; want one failed pull, then the full archive", f.pulls, rep)
	}
	if slices.Contains(f.names(), "app:1") {
		t.Errorf("app:1 named before Commit: %v", f.names())
	}
	if err := l.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.names(); !slices.Equal(got, []string{"app:1"}) || f.images["app:1"].ID != img.ID() {
		t.Errorf("after Commit the engine names %v (app:1 is %s), want app:1 only, on %s", got, f.images["app:1"].ID, img.ID())
	}

	aborted := NewLoopback(f, containerdStore, "app:2")
	if _, err := aborted.Deliver(ctx, smallImage(t, "/two")); err != nil {
		t.Fatal(err)
	}
	aborted.Abort()
	if got := f.names(); !slices.Equal(got, []string{"app:1"}) {
		t.Errorf("after Abort the engine names %v, want app:1 only", got)
	}
}

func TestForEngine(t *testing.T) {
	classic := docker.Engine{Product: "Docker", Store: docker.StoreClassic, Local: true}
	remoteClassic := docker.Engine{Product: "Docker", Store: docker.StoreClassic, Remote: "reached over tcp://"}
	podman := docker.Engine{Product: "Podman", Store: docker.StorePodman, Local: true}
	remotePodman := docker.Engine{Product: "Podman", Store: docker.StorePodman, Remote: "reached over tcp://"}
	for _, c := range []struct {
		e       docker.Engine
		via     string
		method  string
		why     string
		wantErr string
	}{
		{classic, ViaAuto, "the partial docker-archive", "the classic store takes one", ""},
		{remoteClassic, ViaAuto, "the partial docker-archive", "the classic store takes one", ""},
		{containerdStore, ViaAuto, "the loopback registry", "the containerd image store refuses partial archives", ""},
		{podman, ViaAuto, "the loopback registry", "Podman refuses partial archives", ""},
		{remotePodman, ViaAuto, "the full docker-archive", "cannot reach a registry on this machine's loopback (reached over tcp://)", ""},
		{classic, ViaRegistry, "the loopback registry", "as asked", ""},
		{remotePodman, ViaRegistry, "the loopback registry", "though the engine looks remote", ""},
		{podman, ViaPartial, "the partial docker-archive", "as asked", ""},
		{classic, ViaArchive, "the full docker-archive", "as asked", ""},
		{classic, "ftp", "", "", `--load-via "ftp"`},
	} {
		o, why, err := ForEngine(newFakeClient(), c.e, "app:1", nil, c.via)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ForEngine(%s, %q) = %v, want error %q", c.e.Store, c.via, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		method := o.(interface{ Method() string }).Method()
		if method != c.method || !strings.HasPrefix(why, c.method) || !strings.Contains(why, c.why) {
			t.Errorf("ForEngine(%s local %v, %q) = %s, %q; want %s, %q", c.e.Store, c.e.Local, c.via, method, why, c.method, c.why)
		}
	}
}

// TestRetagSkipped: a rebuild without a change finds the image in the
// engine under its tag already, sends nothing and does not tag it again;
// under another tag, it tags.
func TestRetagSkipped(t *testing.T) {
	f := newFakeClient()
	img := smallImage(t, "/tmp")
	classic := docker.Engine{Product: "Docker", Store: docker.StoreClassic, Local: true, Host: "unix:///fake.sock"}
	deliver := func(tag string) Report {
		t.Helper()
		e := NewEngine(f, classic, tag, nil, false)
		rep, err := e.Deliver(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := f.images[NormalTag(tag)]; got.ID != img.ID() {
			t.Errorf("%s names %q, want %s", tag, got.ID, img.ID())
		}
		return rep
	}
	deliver("app:v1")
	tags := f.tags
	if rep := deliver("app:v1"); rep.LayersSent != 0 || f.tags != tags {
		t.Errorf("rebuild under the same tag: %d layers sent, %d tag calls; want none of either", rep.LayersSent, f.tags-tags)
	}
	if deliver("app"); f.tags != tags+1 {
		t.Errorf("under another tag: %d tag calls, want 1", f.tags-tags)
	}
	if got := f.names(); !slices.Equal(got, []string{"app:latest", "app:v1"}) {
		t.Errorf("the engine names %v, want app:latest and app:v1 only", got)
	}
}

// TestRetagMovedTag: the tag named the image when Deliver looked, but
// another build moved it before Commit: Commit tags again, and the tag
// names this build's image.
func TestRetagMovedTag(t *testing.T) {
	f := newFakeClient()
	img := smallImage(t, "/tmp")
	classic := docker.Engine{Product: "Docker", Store: docker.StoreClassic, Local: true, Host: "unix:///fake.sock"}
	for i := 0; i < 2; i++ { // the first build tags; the second finds the tag
		e := NewEngine(f, classic, "app:v1", nil, false)
		if _, err := e.Deliver(context.Background(), img); err != nil {
			t.Fatal(err)
		}
		if i == 1 { // another build moves the tag
			f.images["sha256:other"] = image.InspectResponse{ID: "sha256:other"}
			f.images["app:v1"] = f.images["sha256:other"]
		}
		tags := f.tags
		if err := e.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := f.images["app:v1"]; got.ID != img.ID() {
			t.Errorf("build %d: app:v1 names %q after Commit, want %s", i+1, got.ID, img.ID())
		}
		if f.tags != tags+1 {
			t.Errorf("build %d: %d tag calls, want 1", i+1, f.tags-tags)
		}
	}
}

// TestPending: a pending output is its output once made, and the reason
// it could not be made for every method that needs it.
func TestPending(t *testing.T) {
	f := newFakeClient()
	img := smallImage(t, "/tmp")
	classic := docker.Engine{Product: "Docker", Store: docker.StoreClassic, Local: true, Host: "unix:///fake.sock"}
	p := NewPending("engine", func() (Output, error) { return NewEngine(f, classic, "app:v1", nil, false), nil })
	if p.Name() != "engine" || p.NeedsBaseLayers() {
		t.Errorf("pending engine: name %q, needs base layers %v; want engine, false", p.Name(), p.NeedsBaseLayers())
	}
	if _, err := p.Deliver(context.Background(), img); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.images["app:v1"]; got.ID != img.ID() {
		t.Errorf("app:v1 names %q, want %s", got.ID, img.ID())
	}

	failed := NewPending("engine", func() (Output, error) { return nil, errors.New("no engine") })
	if _, err := failed.Deliver(context.Background(), img); err == nil || err.Error() != "no engine" {
		t.Errorf("Deliver of a failed output: %v, want its error", err)
	}
	if err := failed.Commit(context.Background()); err == nil {
		t.Error("Commit of a failed output: no error")
	}
	failed.Abort() // nothing to abort, and no panic
	if failed.NeedsBaseLayers() {
		t.Error("a failed output needs base layers")
	}
}
