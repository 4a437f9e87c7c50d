package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// fakeArchive is an image whose archive lists its layers in a manifest and
// holds a file "<diffID>" per layer it does not omit.
type fakeArchive struct {
	id      string
	diffIDs []string
}

func (a fakeArchive) ID() string        { return a.id }
func (a fakeArchive) DiffIDs() []string { return a.diffIDs }
func (a fakeArchive) WriteArchive(w io.Writer, tags []string, omit func(string) bool) (int64, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range a.diffIDs {
		if omit != nil && omit(d) {
			continue
		}
		data := strings.Repeat("x", 1000)
		tw.WriteHeader(&tar.Header{Name: d, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write([]byte(data))
	}
	tw.Close()
	n, err := w.Write(buf.Bytes())
	return int64(n), err
}

// fakeEngine is a Client: a classic store by default, which loads a
// partial archive when it holds the chain of the missing layers, or one
// that refuses every partial archive (containerd store).
type fakeEngine struct {
	images        map[string]image.InspectResponse // by ID and by tag
	labelled      map[string]bool                  // IDs of images with LabelName
	refusePartial bool
	failLoad      error       // reported inside the load stream
	pending       fakeArchive // the image the test loads
	loads         []int       // layer files per load
	received      int64       // archive bytes the engine read, over all loads
	inspects      int         // ImageInspect calls
	lists         int         // ImageList calls
	tagged        []string
}

func newEngine() *fakeEngine {
	return &fakeEngine{images: map[string]image.InspectResponse{}, labelled: map[string]bool{}}
}

func (e *fakeEngine) add(id string, layers []string, tags ...string) {
	img := image.InspectResponse{ID: id, RootFS: image.RootFS{Type: "layers", Layers: layers}}
	e.images[id] = img
	for _, t := range tags {
		e.images[t] = img
	}
}

// addBuilt adds an image nix-docker built (it carries LabelName).
func (e *fakeEngine) addBuilt(id string, layers []string, tags ...string) {
	e.add(id, layers, tags...)
	e.labelled[id] = true
}

// ImageList lists images by ID, as the engine does, with the label
// filter applied.
func (e *fakeEngine) ImageList(_ context.Context, opts image.ListOptions) ([]image.Summary, error) {
	e.lists++
	var out []image.Summary
	for ref, img := range e.images {
		if ref != img.ID {
			continue
		}
		if opts.Filters.Contains("label") && !(opts.Filters.ExactMatch("label", LabelName) && e.labelled[img.ID]) {
			continue
		}
		out = append(out, image.Summary{ID: img.ID, Labels: map[string]string{LabelName: "app"}})
	}
	return out, nil
}

func (e *fakeEngine) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	e.inspects++
	img, ok := e.images[ref]
	if !ok {
		return image.InspectResponse{}, cerrdefs.ErrNotFound.WithMessage("No such image: " + ref)
	}
	return img, nil
}

// held reports whether the engine has a layer chain equal to layers.
func (e *fakeEngine) held(layers []string) bool {
	for _, img := range e.images {
		if commonPrefix(img.RootFS.Layers, layers) == len(layers) {
			return true
		}
	}
	return false
}

func (e *fakeEngine) ImageLoad(_ context.Context, r io.Reader, _ ...client.ImageLoadOption) (image.LoadResponse, error) {
	files := map[string]bool{}
	cr := &countReader{r: r}
	defer func() { e.received += cr.n }()
	tr := tar.NewReader(cr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return image.LoadResponse{}, err
		}
		files[h.Name] = true
	}
	if _, err := io.Copy(io.Discard, cr); err != nil { // the end-of-archive padding
		return image.LoadResponse{}, err
	}
	e.loads = append(e.loads, len(files))
	answer := func(v any) (image.LoadResponse, error) {
		b, _ := json.Marshal(v)
		return image.LoadResponse{Body: io.NopCloser(bytes.NewReader(b)), JSON: true}, nil
	}
	if e.failLoad != nil {
		return answer(map[string]any{"errorDetail": map[string]string{"message": e.failLoad.Error()}, "error": e.failLoad.Error()})
	}
	for i, d := range e.pending.diffIDs {
		if files[d] {
			continue
		}
		if e.refusePartial || !e.held(e.pending.diffIDs[:i+1]) {
			msg := fmt.Sprintf("open /var/lib/docker/tmp/docker-import-1/%s/layer.tar: no such file or directory", d)
			return answer(map[string]any{"errorDetail": map[string]string{"message": msg}, "error": msg})
		}
	}
	e.add(e.pending.id, e.pending.diffIDs)
	return answer(map[string]string{"stream": "Loaded image ID: " + e.pending.id + "\n"})
}

func (e *fakeEngine) ImageTag(_ context.Context, source, target string) error {
	img, ok := e.images[source]
	if !ok {
		return cerrdefs.ErrNotFound.WithMessage("No such image: " + source)
	}
	e.images[target] = img
	e.tagged = append(e.tagged, target)
	return nil
}

func archive(id string, layers ...string) fakeArchive {
	return fakeArchive{id: id, diffIDs: layers}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name     string
		setup    func(*fakeEngine, Ledger)
		img      fakeArchive
		bases    []string
		want     Result // BytesSent is checked against the engine's count
		wantErr  string
		files    []int // layer files per load attempt
		inspects int   // ImageInspect calls, when not 0
	}{
		{
			name:  "nothing held",
			setup: func(e *fakeEngine, _ Ledger) {},
			img:   archive("sha256:new", "a", "b", "c"),
			want:  Result{ImageID: "sha256:new", LayersSent: 3},
			files: []int{3},
		},
		{
			name:  "previous tag holds the bottom",
			setup: func(e *fakeEngine, _ Ledger) { e.add("sha256:old", []string{"a", "b", "x"}, "app:latest") },
			img:   archive("sha256:new", "a", "b", "c"),
			want:  Result{ImageID: "sha256:new", LayersSent: 1, LayersSkipped: 2},
			files: []int{1},
		},
		{
			name: "base holds more than the tag",
			setup: func(e *fakeEngine, _ Ledger) {
				e.add("sha256:old", []string{"a", "x"}, "app:latest")
				e.add("sha256:base", []string{"a", "b"})
			},
			img:   archive("sha256:new", "a", "b", "c"),
			bases: []string{"sha256:base", "missing:base"},
			want:  Result{ImageID: "sha256:new", LayersSent: 1, LayersSkipped: 2},
			files: []int{1},
		},
		{
			name: "an image nix-docker built under another tag holds the bottom (ledger: no inspect)",
			setup: func(e *fakeEngine, l Ledger) {
				e.addBuilt("sha256:v1", []string{"a", "b", "x"}, "app:v1")
				l.Record("sha256:v1", []string{"a", "b", "x"})
			},
			img:      archive("sha256:new", "a", "b", "c"),
			want:     Result{ImageID: "sha256:new", LayersSent: 1, LayersSkipped: 2},
			files:    []int{1},
			inspects: 2, // the new ID and the tag: none for v1
		},
		{
			name: "an image nix-docker built that the ledger lacks is inspected once",
			setup: func(e *fakeEngine, _ Ledger) {
				e.addBuilt("sha256:v1", []string{"a", "b", "x"}, "app:v1")
			},
			img:      archive("sha256:new", "a", "b", "c"),
			want:     Result{ImageID: "sha256:new", LayersSent: 1, LayersSkipped: 2},
			files:    []int{1},
			inspects: 3, // the new ID, the tag, v1
		},
		{
			name: "images without the label are not consulted",
			setup: func(e *fakeEngine, l Ledger) {
				e.add("sha256:other", []string{"a", "b", "x"}, "other:v1")
				l.Record("sha256:other", []string{"a", "b", "x"})
			},
			img:   archive("sha256:new", "a", "b", "c"),
			want:  Result{ImageID: "sha256:new", LayersSent: 3},
			files: []int{3},
		},
		{
			name:  "same layers in another order are not reused",
			setup: func(e *fakeEngine, _ Ledger) { e.add("sha256:old", []string{"b", "a"}, "app:latest") },
			img:   archive("sha256:new", "a", "b"),
			want:  Result{ImageID: "sha256:new", LayersSent: 2},
			files: []int{2},
		},
		{
			name:  "already loaded",
			setup: func(e *fakeEngine, _ Ledger) { e.add("sha256:new", []string{"a", "b"}) },
			img:   archive("sha256:new", "a", "b"),
			want:  Result{ImageID: "sha256:new", LayersSkipped: 2, AlreadyLoaded: true},
		},
		{
			name: "containerd store refuses a partial archive",
			setup: func(e *fakeEngine, _ Ledger) {
				e.add("sha256:old", []string{"a", "b", "x"}, "app:latest")
				e.refusePartial = true
			},
			img:   archive("sha256:new", "a", "b", "c"),
			want:  Result{ImageID: "sha256:new", LayersSent: 3, FullFallback: true},
			files: []int{1, 3},
		},
		{
			name: "failed load",
			setup: func(e *fakeEngine, _ Ledger) {
				e.add("sha256:old", []string{"a", "b", "x"}, "app:latest")
				e.failLoad = errors.New("no space left on device")
			},
			img:     archive("sha256:new", "a", "b", "c"),
			wantErr: "no space left on device",
			files:   []int{1, 3},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEngine()
			ledger := Ledger{Dir: t.TempDir()}
			c.setup(e, ledger)
			e.inspects = 0
			e.pending = c.img
			before, hadTag := e.images["app:latest"]
			got, err := ledger.Load(ctx, e, c.img, "app:latest", c.bases)
			if fmt.Sprint(e.loads) != fmt.Sprint(c.files) {
				t.Errorf("Load: layer files per attempt %v, want %v", e.loads, c.files)
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Load = %v, want error containing %q", err, c.wantErr)
				}
				if after := e.images["app:latest"]; hadTag && after.ID != before.ID {
					t.Errorf("after a failed Load the tag names %s, want still %s", after.ID, before.ID)
				}
				if len(e.tagged) != 0 {
					t.Errorf("failed Load tagged %v", e.tagged)
				}
				if _, ok := ledger.Lookup(c.img.id); ok {
					t.Errorf("failed Load recorded %s in the ledger", c.img.id)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			// What the engine read, and a bound: each layer file is 1000
			// bytes plus its tar header; the manifest adds a few blocks.
			if got.BytesSent != e.received {
				t.Errorf("Load: BytesSent %d, the engine read %d", got.BytesSent, e.received)
			}
			sentFiles := 0
			for _, n := range c.files {
				sentFiles += n
			}
			if len(c.files) > 0 && (got.BytesSent <= int64(sentFiles)*1000 || got.BytesSent > int64(sentFiles)*1536+4096) {
				t.Errorf("Load: BytesSent %d, want over %d and at most %d for %d layer files", got.BytesSent, sentFiles*1000, sentFiles*1536+4096, sentFiles)
			}
			if len(c.files) == 0 && got.BytesSent != 0 {
				t.Errorf("Load: BytesSent %d without a load, want 0", got.BytesSent)
			}
			want := c.want
			want.BytesSent = got.BytesSent
			if got != want {
				t.Errorf("Load = %+v, want %+v", got, want)
			}
			if e.images["app:latest"].ID != c.want.ImageID {
				t.Errorf("after Load the tag names %s, want %s", e.images["app:latest"].ID, c.want.ImageID)
			}
			if e.lists > 1 {
				t.Errorf("Load listed images %d times, want at most once", e.lists)
			}
			if c.inspects != 0 && e.inspects != c.inspects {
				t.Errorf("Load inspected %d times, want %d", e.inspects, c.inspects)
			}
			if layers, ok := ledger.Lookup(got.ImageID); !ok || !sameLayers(layers, c.img.diffIDs) {
				t.Errorf("ledger after Load: %v (%v), want %v", layers, ok, c.img.diffIDs)
			}
		})
	}
}

// TestHoldingsBounded: on an engine with many nix-docker images the
// ledger lacks, Holdings inspects at most maxInspect of them.
func TestHoldingsBounded(t *testing.T) {
	e := newEngine()
	for i := 0; i < 50; i++ {
		e.addBuilt(fmt.Sprintf("sha256:%02d", i), []string{"a", fmt.Sprint(i)})
	}
	ledger := Ledger{Dir: t.TempDir()}
	chains, err := Holdings(context.Background(), e, ledger)
	if err != nil {
		t.Fatal(err)
	}
	if e.lists != 1 || e.inspects != maxInspect || len(chains) != maxInspect {
		t.Errorf("Holdings: %d lists, %d inspects, %d chains; want 1, %d, %d", e.lists, e.inspects, len(chains), maxInspect, maxInspect)
	}
	// The inspected ones are in the ledger now: the next call inspects
	// the next maxInspect.
	e.inspects = 0
	chains, err = Holdings(context.Background(), e, ledger)
	if err != nil {
		t.Fatal(err)
	}
	if e.inspects != maxInspect || len(chains) != 2*maxInspect {
		t.Errorf("second Holdings: %d inspects, %d chains; want %d, %d", e.inspects, len(chains), maxInspect, 2*maxInspect)
	}
}

func TestLedger(t *testing.T) {
	l := Ledger{Dir: t.TempDir()}
	l.Record("sha256:abc", []string{"sha256:1", "sha256:2"})
	if got, ok := l.Lookup("sha256:abc"); !ok || strings.Join(got, " ") != "sha256:1 sha256:2" {
		t.Errorf("Lookup = %v, %v", got, ok)
	}
	for _, bad := range []string{"abc", "sha256:", "sha256:../x", "sha256:a/b"} {
		l.Record(bad, []string{"sha256:1"})
		if _, ok := l.Lookup(bad); ok {
			t.Errorf("Lookup(%q) found a record", bad)
		}
	}
	if _, ok := (Ledger{}).Lookup("sha256:abc"); ok {
		t.Errorf("an empty ledger found a record")
	}
}

func TestReadLoadStream(t *testing.T) {
	cases := []struct {
		in, wantID, wantErr string
	}{
		{`{"stream":"Loaded image ID: sha256:abc\n"}`, "sha256:abc", ""},
		{`{"status":"Loading layer"}{"stream":"Loaded image: app:latest\n"}`, "", ""},
		{`{"errorDetail":{"message":"max depth exceeded"},"error":"max depth exceeded"}`, "", "max depth exceeded"},
		{`{"error":"old style"}`, "", "old style"},
		{`not json`, "", "reading the engine's answer"},
	}
	for _, c := range cases {
		id, err := readLoadStream(strings.NewReader(c.in))
		if id != c.wantID || (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("readLoadStream(%s) = %q, %v, want %q, %q", c.in, id, err, c.wantID, c.wantErr)
		}
	}
}
