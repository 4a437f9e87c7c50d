package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// fakeArchive is an image whose docker-archive holds manifest.json (its
// RepoTags, its config file named by its ID, its layers) and a
// "<diffID>/layer.tar" per layer it does not omit.
type fakeArchive struct {
	id      string
	diffIDs []string
}

func (a fakeArchive) ID() string        { return a.id }
func (a fakeArchive) DiffIDs() []string { return a.diffIDs }
func (a fakeArchive) WriteArchive(w io.Writer, tags []string, omit func(string) bool) (int64, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	file := func(name string, data []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	m := struct{ Config, RepoTags, Layers any }{strings.TrimPrefix(a.id, "sha256:") + ".json", tags, []string{}}
	var layers []string
	for _, d := range a.diffIDs {
		layers = append(layers, d+"/layer.tar")
		if omit == nil || !omit(d) {
			file(d+"/layer.tar", bytes.Repeat([]byte("x"), 1000))
		}
	}
	m.Layers = layers
	mj, _ := json.Marshal([]any{m})
	file(m.Config.(string), configFor(a.id))
	file("manifest.json", mj)
	tw.Close()
	n, err := w.Write(buf.Bytes())
	return int64(n), err
}

// The engines' own words for an archive that lacks a layer. Recorded from
// their sources: moby's classic store (daemon/images, via the tar's
// temporary directory), containerd's importer as moby's containerd store
// wraps it (images/archive: resolveLayers), and Podman 4.3 (libimage,
// tried here).
const (
	classicMissing    = "open /var/lib/docker/tmp/docker-import-1/%s/layer.tar: no such file or directory"
	containerdMissing = `failed to resolve layers: layer "%s/layer.tar" not found`
	podmanMissing     = "failed to load image: payload does not match any of the supported image formats:\n * oci: initializing source oci:/var/tmp/api_load.tar1:: open /var/tmp/api_load.tar1/index.json: not a directory\n * docker-archive: Some layer tarfiles are missing in the tarball"
	// moby's containerd store registers an image before unpacking it and,
	// when the unpack fails, prints this in the stream of a load it still
	// reports as successful (daemon/containerd/image_exporter.go).
	unpackFailed = "Error unpacking image %s: failed to extract layer %s: failed to get reader from content store: content digest %s: not found"
)

// fakeEngine is a Client. As the classic store (the default) it loads a
// partial archive when it holds the chain of the missing layers; as the
// containerd store or Podman it refuses every partial archive, with their
// words. The containerd store names an image by a manifest digest, not the
// config's; Podman by the config's digest, its names under localhost/.
type fakeEngine struct {
	store    Store
	images   map[string]image.InspectResponse // by ID and by name
	failLoad error                            // reported inside the load stream
	// unpackErrors is how many loads register the image (complete as far
	// as inspect shows) but print "Error unpacking image".
	unpackErrors int
	// wrongLayers is how many loads register an image whose last layer is
	// not the archive's.
	wrongLayers int
	dropNames   bool            // ignore RepoTags; report "Loaded image ID: <id>"
	labelled    map[string]bool // IDs of images with LabelName
	loads       []int           // layer files per load
	received    int64           // archive bytes the engine read, over all loads
	inspects    int             // ImageInspect calls
	lists       int             // ImageList calls
	tagged      []string        // ImageTag targets
}

func newEngine(s Store) *fakeEngine {
	return &fakeEngine{store: s, images: map[string]image.InspectResponse{}, labelled: map[string]bool{}}
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

func (e *fakeEngine) add(id string, layers []string, names ...string) {
	img := image.InspectResponse{ID: id, RepoTags: names, RootFS: image.RootFS{Type: "layers", Layers: layers}}
	e.images[id] = img
	for _, n := range names {
		e.images[n] = img
	}
}

// names lists the names (not IDs) the engine holds, sorted.
func (e *fakeEngine) names() []string {
	var out []string
	for k := range e.images {
		if !strings.HasPrefix(k, "sha256:") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (e *fakeEngine) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	e.inspects++
	img, ok := e.images[ref]
	if !ok && e.store == StorePodman {
		img, ok = e.images["localhost/"+ref]
	}
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

// readArchive returns an archive's manifest entry and its layer files.
func readArchive(r io.Reader) (m struct {
	Config   string
	RepoTags []string
	Layers   []string
}, files map[string]bool, configs map[string][]byte, err error) {
	files, configs = map[string]bool{}, map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return m, files, configs, nil
		}
		if err != nil {
			return m, nil, nil, err
		}
		files[h.Name] = true
		if strings.HasSuffix(h.Name, ".json") && h.Name != "manifest.json" {
			configs[h.Name], _ = io.ReadAll(tr)
		}
		if h.Name == "manifest.json" {
			var ms []struct {
				Config   string
				RepoTags []string
				Layers   []string
			}
			if err := json.NewDecoder(tr).Decode(&ms); err != nil {
				return m, nil, nil, err
			}
			m = ms[0]
		}
	}
}

func answer(msgs ...any) (image.LoadResponse, error) {
	var b bytes.Buffer
	for _, m := range msgs {
		j, _ := json.Marshal(m)
		b.Write(j)
	}
	return image.LoadResponse{Body: io.NopCloser(&b), JSON: true}, nil
}

func errorMessage(msg string) map[string]any {
	return map[string]any{"errorDetail": map[string]string{"message": msg}, "error": msg}
}

func (e *fakeEngine) ImageLoad(_ context.Context, r io.Reader, _ ...client.ImageLoadOption) (image.LoadResponse, error) {
	cr := &countReader{r: r}
	m, files, configs, err := readArchive(cr)
	if err != nil {
		return image.LoadResponse{}, err
	}
	if _, err := io.Copy(io.Discard, cr); err != nil { // the end-of-archive padding
		return image.LoadResponse{}, err
	}
	e.received += cr.n
	e.loads = append(e.loads, len(files)-2)
	if e.failLoad != nil {
		return answer(errorMessage(e.failLoad.Error()))
	}
	for i, l := range m.Layers {
		d := path.Dir(l)
		if files[l] || (e.store == StoreClassic && e.held(stripLayers(m.Layers[:i+1]))) {
			continue
		}
		switch {
		case e.unpackErrors > 0:
			continue // registered, to fail while unpacking
		case e.store == StorePodman:
			return image.LoadResponse{}, errors.New("Error response from daemon: " + podmanMissing)
		case e.store == StoreContainerd:
			return answer(errorMessage(fmt.Sprintf(containerdMissing, d)))
		}
		return answer(errorMessage(fmt.Sprintf(classicMissing, d)))
	}
	return e.register(m.Config, configs[m.Config], stripLayers(m.Layers), m.RepoTags)
}

// register adds a loaded image and answers as the engine would.
func (e *fakeEngine) register(config string, cfg []byte, layers []string, tags []string) (image.LoadResponse, error) {
	id := "sha256:" + strings.TrimSuffix(config, ".json")
	if e.store == StoreContainerd {
		sum := sha256.Sum256([]byte("manifest of " + id))
		id = "sha256:" + hex.EncodeToString(sum[:])
	}
	if e.wrongLayers > 0 {
		e.wrongLayers--
		layers = append(slices.Clone(layers[:len(layers)-1]), "sha256:other")
	}
	if e.dropNames {
		tags = nil
	}
	var names []string
	for _, t := range tags {
		if e.store == StorePodman {
			t = "localhost/" + t
		}
		names = append(names, t)
	}
	e.add(id, layers, names...)
	var c struct {
		Architecture, OS, Created string
		Config                    dockerspec.DockerOCIImageConfig
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return image.LoadResponse{}, err
	}
	for k, img := range e.images {
		if img.ID == id {
			img.Architecture, img.Os, img.Created, img.Config = c.Architecture, c.OS, c.Created, &c.Config
			e.images[k] = img
		}
	}
	var msgs []any
	if len(names) == 0 {
		msgs = append(msgs, map[string]string{"stream": "Loaded image ID: " + id + "\n"})
	}
	for _, n := range names {
		msgs = append(msgs, map[string]string{"stream": "Loaded image: " + n + "\n"})
		if e.unpackErrors > 0 {
			msgs = append(msgs, map[string]string{"stream": fmt.Sprintf(unpackFailed, n, layers[0], layers[0]) + "\n"})
		}
	}
	if e.unpackErrors > 0 {
		e.unpackErrors--
	}
	return answer(msgs...)
}

func stripLayers(files []string) []string {
	var out []string
	for _, f := range files {
		out = append(out, path.Dir(f))
	}
	return out
}

func (e *fakeEngine) ImageTag(_ context.Context, source, target string) error {
	img, err := e.ImageInspect(context.Background(), source)
	if err != nil {
		return err
	}
	e.images[target] = img
	e.tagged = append(e.tagged, target)
	return nil
}

func (e *fakeEngine) ImageRemove(_ context.Context, ref string, _ image.RemoveOptions) ([]image.DeleteResponse, error) {
	img, err := e.ImageInspect(context.Background(), ref)
	if err != nil {
		return nil, err
	}
	delete(e.images, ref)
	delete(e.images, "localhost/"+ref)
	for k, v := range e.images {
		if v.ID == img.ID && k != img.ID {
			return []image.DeleteResponse{{Untagged: ref}}, nil
		}
	}
	delete(e.images, img.ID) // no name left: the image goes
	return []image.DeleteResponse{{Untagged: ref}, {Deleted: img.ID}}, nil
}

// configFor is the config of the fake image id: its labels name it.
func configFor(id string) []byte {
	return []byte(`{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:01Z","config":{"Labels":{"id":"` + id + `"}}}`)
}

func archive(id string, layers ...string) fakeArchive {
	return fakeArchive{id: id, diffIDs: layers}
}

// commitLoad tags what Load left as tag and removes its temporary name, as
// the engine output does on Commit.
func commitLoad(t *testing.T, e *fakeEngine, res Result, tag string) {
	t.Helper()
	src := res.Ref
	if src == "" {
		src = res.ImageID
	}
	if err := e.ImageTag(context.Background(), src, tag); err != nil {
		t.Fatalf("tagging %s: %v", src, err)
	}
	if res.Ref != "" {
		if err := RemoveRef(context.Background(), e, res.Ref); err != nil {
			t.Fatal(err)
		}
	}
}

type loadCase struct {
	name    string
	store   Store
	setup   func(*fakeEngine, Ledger)
	img     fakeArchive
	holders []string
	full    bool
	want    Result // BytesSent, Ref and Retried are not compared
	retried string // in Result.Retried
	wantErr string
	files   []int // layer files per load attempt
	// inspects is the ImageInspect calls Load makes, when not 0.
	inspects int
}

var loadCases = []loadCase{
	{
		name:  "nothing held",
		img:   archive("sha256:new", "a", "b", "c"),
		want:  Result{ImageID: "sha256:new", LayersSent: 3},
		files: []int{3},
	},
	{
		name:    "previous tag holds the bottom",
		setup:   func(e *fakeEngine, _ Ledger) { e.add("sha256:old", []string{"a", "b", "x"}, "app:latest") },
		img:     archive("sha256:new", "a", "b", "c"),
		holders: []string{"app:latest"},
		want:    Result{ImageID: "sha256:new", LayersSent: 1, LayersSkipped: 2},
		files:   []int{1},
	},
	{
		name: "base holds more than the tag",
		setup: func(e *fakeEngine, _ Ledger) {
			e.add("sha256:old", []string{"a", "x"}, "app:latest")
			e.add("sha256:base", []string{"a", "b"})
		},
		img:     archive("sha256:new", "a", "b", "c"),
		holders: []string{"app:latest", "sha256:base", "missing:base"},
		want:    Result{ImageID: "sha256:new", LayersSent: 1, LayersSkipped: 2},
		files:   []int{1},
	},
	{
		name: "an image nix-docker built under another tag holds the bottom (ledger: no inspect)",
		setup: func(e *fakeEngine, l Ledger) {
			e.addBuilt("sha256:v1", []string{"a", "b", "x"}, "app:v1")
			l.Record("sha256:v1", []string{"a", "b", "x"})
		},
		img:      archive("sha256:new", "a", "b", "c"),
		holders:  []string{"app:latest"},
		want:     Result{ImageID: "sha256:new", LayersSent: 1, LayersSkipped: 2},
		files:    []int{1},
		inspects: 3, // the new ID, the tag, the temporary name: none for v1
	},
	{
		name: "an image nix-docker built that the ledger lacks is inspected once",
		setup: func(e *fakeEngine, _ Ledger) {
			e.addBuilt("sha256:v1", []string{"a", "b", "x"}, "app:v1")
		},
		img:      archive("sha256:new", "a", "b", "c"),
		holders:  []string{"app:latest"},
		want:     Result{ImageID: "sha256:new", LayersSent: 1, LayersSkipped: 2},
		files:    []int{1},
		inspects: 4, // the new ID, v1, the tag, the temporary name
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
		name:    "same layers in another order are not reused",
		setup:   func(e *fakeEngine, _ Ledger) { e.add("sha256:old", []string{"b", "a"}, "app:latest") },
		img:     archive("sha256:new", "a", "b"),
		holders: []string{"app:latest"},
		want:    Result{ImageID: "sha256:new", LayersSent: 2},
		files:   []int{2},
	},
	{
		name:    "full archive asked for",
		setup:   func(e *fakeEngine, _ Ledger) { e.add("sha256:old", []string{"a", "b", "x"}, "app:latest") },
		img:     archive("sha256:new", "a", "b", "c"),
		holders: []string{"app:latest"},
		full:    true,
		want:    Result{ImageID: "sha256:new", LayersSent: 3},
		files:   []int{3},
	},
	{
		name:     "already loaded",
		setup:    func(e *fakeEngine, _ Ledger) { e.add("sha256:new", []string{"a", "b"}, "app:v1") },
		img:      archive("sha256:new", "a", "b"),
		want:     Result{ImageID: "sha256:new", LayersSkipped: 2, AlreadyLoaded: true, Tags: []string{"app:v1"}},
		inspects: 1, // the image's ID, answered and checked at once
	},
	{
		name:    "containerd store refuses a partial archive",
		store:   StoreContainerd,
		setup:   func(e *fakeEngine, _ Ledger) { e.add("sha256:old", []string{"a", "b", "x"}, "app:latest") },
		img:     archive("sha256:new", "a", "b", "c"),
		holders: []string{"app:latest"},
		want:    Result{ImageID: manifestID("sha256:new"), LayersSent: 3, FullFallback: true},
		retried: `failed to resolve layers: layer "a/layer.tar" not found`,
		files:   []int{1, 3},
	},
	{
		name:  "containerd store swallows an unpack error",
		store: StoreContainerd,
		setup: func(e *fakeEngine, _ Ledger) {
			e.add("sha256:old", []string{"a", "b", "x"}, "app:latest")
			e.unpackErrors = 1
		},
		img:     archive("sha256:new", "a", "b", "c"),
		holders: []string{"app:latest"},
		want:    Result{ImageID: manifestID("sha256:new"), LayersSent: 3, FullFallback: true},
		retried: "Error unpacking image nix-docker-load:",
		files:   []int{1, 3},
	},
	{
		name:  "containerd store swallows an unpack error twice",
		store: StoreContainerd,
		setup: func(e *fakeEngine, _ Ledger) {
			e.add("sha256:old", []string{"a", "b", "x"}, "app:latest")
			e.unpackErrors = 2
		},
		img:     archive("sha256:new", "a", "b", "c"),
		holders: []string{"app:latest"},
		wantErr: "Error unpacking image",
		files:   []int{1, 3},
	},
	{
		name:    "Podman refuses a partial archive",
		store:   StorePodman,
		setup:   func(e *fakeEngine, _ Ledger) { e.add("sha256:old", []string{"a", "b", "x"}, "localhost/app:latest") },
		img:     archive("sha256:new", "a", "b", "c"),
		holders: []string{"app:latest"},
		want:    Result{ImageID: "sha256:new", LayersSent: 3, FullFallback: true},
		retried: "Some layer tarfiles are missing in the tarball",
		files:   []int{1, 3},
	},
	{
		name: "a partial load that is not the plan is sent again in full",
		setup: func(e *fakeEngine, _ Ledger) {
			e.add("sha256:old", []string{"a", "b", "x"}, "app:latest")
			e.wrongLayers = 1
		},
		img:     archive("sha256:new", "a", "b", "c"),
		holders: []string{"app:latest"},
		want:    Result{ImageID: "sha256:new", LayersSent: 3, FullFallback: true},
		retried: "layer 3 of 3 is sha256:other in the engine, c in the plan",
		files:   []int{1, 3},
	},
	{
		name: "a load that is never the plan fails",
		setup: func(e *fakeEngine, _ Ledger) {
			e.add("sha256:old", []string{"a", "b", "x"}, "app:latest")
			e.wrongLayers = 2
		},
		img:     archive("sha256:new", "a", "b", "c"),
		holders: []string{"app:latest"},
		wantErr: "incomplete or not ours: layer 3 of 3 is sha256:other in the engine, c in the plan",
		files:   []int{1, 3},
	},
	{
		name:  "an engine that drops the archive's names is found by the ID it reports",
		setup: func(e *fakeEngine, _ Ledger) { e.dropNames = true },
		img:   archive("sha256:new", "a", "b"),
		want:  Result{ImageID: "sha256:new", LayersSent: 2},
		files: []int{2},
	},
	{
		name: "failed load",
		setup: func(e *fakeEngine, _ Ledger) {
			e.add("sha256:old", []string{"a", "b", "x"}, "app:latest")
			e.failLoad = errors.New("no space left on device")
		},
		img:     archive("sha256:new", "a", "b", "c"),
		holders: []string{"app:latest"},
		wantErr: "no space left on device",
		files:   []int{1, 3},
	},
}

func manifestID(id string) string {
	sum := sha256.Sum256([]byte("manifest of " + id))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestLoad(t *testing.T) {
	for _, c := range loadCases {
		t.Run(c.name, func(t *testing.T) { testLoad(t, c) })
	}
}

func testLoad(t *testing.T, c loadCase) {
	store := c.store
	if store == "" {
		store = StoreClassic
	}
	e := newEngine(store)
	ledger := Ledger{Dir: t.TempDir()}
	if c.setup != nil {
		c.setup(e, ledger)
	}
	e.inspects = 0
	namesBefore := e.names()
	opts := LoadOptions{Holders: c.holders, Full: c.full, Expect: Expect{AnyID: store == StoreContainerd, Config: configFor(c.img.id)}, Ledger: ledger}
	got, err := Load(context.Background(), e, c.img, opts)
	if fmt.Sprint(e.loads) != fmt.Sprint(c.files) {
		t.Errorf("Load: layer files per attempt %v, want %v", e.loads, c.files)
	}
	if len(e.tagged) != 0 {
		t.Errorf("Load tagged %v; tagging is the caller's", e.tagged)
	}
	if c.wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Fatalf("Load = %v, want error containing %q", err, c.wantErr)
		}
		if after := e.names(); !slices.Equal(after, namesBefore) {
			t.Errorf("after a failed Load the engine names %v, want %v (no temporary name left)", after, namesBefore)
		}
		if _, ok := ledger.Lookup(c.img.id); ok {
			t.Errorf("failed Load recorded %s in the ledger", c.img.id)
		}
		return
	}
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !strings.Contains(got.Retried, c.retried) || (c.retried == "") != (got.Retried == "") {
		t.Errorf("Load: Retried = %q, want it to contain %q", got.Retried, c.retried)
	}
	if got.Ref != "" && !IsTemporary(got.Ref) {
		t.Errorf("Load: Ref = %q, want a temporary name", got.Ref)
	}
	res := got
	res.BytesSent, res.Ref, res.Retried = 0, "", ""
	if !reflect.DeepEqual(res, c.want) {
		t.Errorf("Load = %+v, want %+v", res, c.want)
	}
	checkBytes(t, got.BytesSent, e.received, c.files)
	if e.lists > 1 {
		t.Errorf("Load listed images %d times, want at most once", e.lists)
	}
	if c.inspects != 0 && e.inspects != c.inspects {
		t.Errorf("Load inspected %d times, want %d", e.inspects, c.inspects)
	}
	if layers, ok := ledger.Lookup(got.ImageID); !ok || !slices.Equal(layers, c.img.diffIDs) {
		t.Errorf("ledger after Load: %v (%v), want %v", layers, ok, c.img.diffIDs)
	}
	commitLoad(t, e, got, "app:latest")
	if id := e.images["app:latest"].ID; id != c.want.ImageID {
		t.Errorf("after Load and tagging, app:latest is %s, want %s", id, c.want.ImageID)
	}
	for _, n := range e.names() {
		if IsTemporary(n) {
			t.Errorf("after tagging the engine still names %s", n)
		}
	}
}

// checkBytes compares what Load says it sent with what the engine read,
// and bounds it: each layer file is 1000 bytes plus its tar header; the
// manifest and config add a few blocks per load.
func checkBytes(t *testing.T, sent, received int64, files []int) {
	t.Helper()
	if sent != received {
		t.Errorf("Load: BytesSent %d, the engine read %d", sent, received)
	}
	n := 0
	for _, f := range files {
		n += f
	}
	if len(files) > 0 && (sent <= int64(n)*1000 || sent > int64(n)*1536+int64(len(files))*6144) {
		t.Errorf("Load: BytesSent %d for %d layer files in %d loads", sent, n, len(files))
	}
	if len(files) == 0 && sent != 0 {
		t.Errorf("Load: BytesSent %d without a load, want 0", sent)
	}
}

// TestHoldingsBounded: on an engine with many nix-docker images the
// ledger lacks, Holdings inspects at most maxInspect of them.
func TestHoldingsBounded(t *testing.T) {
	e := newEngine(StoreClassic)
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
	// docs/images.md: a ledger entry is 72 bytes a layer.
	id, layer := "sha256:"+strings.Repeat("e", 64), "sha256:"+strings.Repeat("f", 64)
	l.Record(id, []string{layer, layer, layer})
	if st, err := os.Stat(l.file(id)); err != nil || st.Size() != 3*72 {
		t.Errorf("a 3-layer ledger entry: %v, %v; want 216 bytes", st, err)
	}
}

func TestReadLoadStream(t *testing.T) {
	cases := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{`{"stream":"Loaded image ID: sha256:abc\n"}`, []string{"sha256:abc"}, ""},
		{`{"status":"Loading layer"}{"stream":"Loaded image: app:latest\n"}`, []string{"app:latest"}, ""},
		{`{"stream":"Loaded image: localhost/app:1"}`, []string{"localhost/app:1"}, ""},
		{`{"errorDetail":{"message":"max depth exceeded"},"error":"max depth exceeded"}`, nil, "max depth exceeded"},
		{`{"error":"old style"}`, nil, "old style"},
		{`{"stream":"Loaded image: app:1\n"}{"stream":"Error unpacking image app:1: failed to extract layer sha256:aa: content digest sha256:bb: not found\n"}`, nil, "Error unpacking image app:1"},
		{`not json`, nil, "reading the engine's answer"},
	}
	for _, c := range cases {
		got, err := readLoadStream(strings.NewReader(c.in))
		if !slices.Equal(got, c.want) || (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("readLoadStream(%s) = %q, %v, want %q, %q", c.in, got, err, c.want, c.wantErr)
		}
	}
}

func TestIsTemporary(t *testing.T) {
	for ref, want := range map[string]bool{
		"nix-docker-load:abc-1":                       true,
		"localhost/nix-docker-load:abc-1":             true,
		"docker.io/library/nix-docker-load:abc-1":     true,
		"127.0.0.1:40123/nix-docker-load:abc-1":       true,
		"127.0.0.1:40123/nix-docker-load@sha256:0123": true,
		"app:latest":                                    false,
		"nix-docker-load/app:1":                         false,
		"localhost:5000/user/app":                       false,
		"127.0.0.1:40123/nix-docker-loader:1":           false,
		"registry.example/nix-docker-load/nested:1.2.3": false,
	} {
		if got := IsTemporary(ref); got != want {
			t.Errorf("IsTemporary(%q) = %v, want %v", ref, got, want)
		}
	}
	if a, b := TempTag("sha256:0123456789abcdef"), TempTag("sha256:0123456789abcdef"); a == b || !strings.HasPrefix(a, "0123456789ab-") {
		t.Errorf("TempTag twice = %q, %q; want the ID's first 12 digits and differing suffixes", a, b)
	}
}
