package pipeline

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/contract"
	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/nixbuild"
	"github.com/nix-docker/nix-docker/internal/output"
)

// appHCL is the app of these tests: settings that go straight to the
// image config (ports, volumes, readiness), and an environment variable
// that names a store path and so goes through Nix.
const appHCL = `image {
  ports   = [8080]
  volumes = ["/data"]
  env     = { PLAIN = "yes", TOOL = "${pkgs.hello}/bin/hello" }
}
service "app" {
  command = "/bin/sleep 100"
  ready { tcp = 8080 }
}
`

// setup writes app.hcl into a temp dir (and gives the layer cache one of
// its own) and returns its options and a fake Nix.
// classic is the engine the fake engine plays: Docker's classic store,
// which takes a partial archive.
var classic = docker.Engine{Product: "Docker", Store: docker.StoreClassic, Local: true, Host: "unix:///fake.sock"}

func setup(t *testing.T, src string) (Options, *fakeNix) {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	file := filepath.Join(dir, "app.hcl")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	nix := newFakeNix(t)
	nix.meta.Env = map[string]string{"TOOL": storePath('h', "hello") + "/bin/hello"}
	return Options{File: file, Tag: "user/app:v1", InitPath: "/host/nix-docker-init"}, nix
}

// files are the file outputs of a test: a docker-archive and an OCI
// layout in a directory of their own.
type files struct{ dir, archive, oci string }

func fileOutputs(t *testing.T) (files, []output.Output) {
	t.Helper()
	f := files{dir: t.TempDir()}
	f.archive, f.oci = filepath.Join(f.dir, "image.tar"), filepath.Join(f.dir, "oci")
	a, err := output.NewArchive(f.archive, "user/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	return f, []output.Output{a, output.NewOCI(f.oci, "user/app:v1")}
}

// left lists what the outputs left in their directory.
func (f files) left(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// config reads the container config out of the docker-archive's image
// config.
func config(t *testing.T, archive string) map[string]any {
	t.Helper()
	cfg, _ := imageConfig(t, archive)["config"].(map[string]any)
	return cfg
}

// imageConfig reads the image config out of the docker-archive.
func imageConfig(t *testing.T, archive string) map[string]any {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no config in %s: %v", archive, err)
		}
		if strings.HasSuffix(h.Name, ".json") && h.Name != "manifest.json" {
			var cfg map[string]any
			if err := json.NewDecoder(tr).Decode(&cfg); err != nil {
				t.Fatal(err)
			}
			return cfg
		}
	}
}

// TestBuild runs every stage with fakes and writes both file outputs:
// Nix runs once to build and once to read the closure; settings without
// store paths reach the config from the project, the one with a store
// path from what Nix resolved.
func TestBuild(t *testing.T) {
	opts, nix := setup(t, appHCL)
	f, outs := fileOutputs(t)
	res, err := Build(context.Background(), opts, Deps{Nix: nix, StoreRoot: nix.root}, outs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(nix.builds, []string{"system"}) || nix.closures != 1 {
		t.Errorf("Nix calls: builds %v, closures %d; want one build of the system and one closure", nix.builds, nix.closures)
	}
	if len(res.Reports) != 2 || res.Reports[0].Output != "docker-archive" || res.Reports[1].Output != "oci" || res.Reports[0].ImageID != res.ImageID {
		t.Errorf("reports %+v, want the archive's and the layout's, for image %s", res.Reports, res.ImageID)
	}
	if got := f.left(t); !slices.Equal(got, []string{"image.tar", "oci"}) {
		t.Errorf("outputs left %v, want image.tar and oci only", got)
	}
	if _, err := os.Stat(filepath.Join(f.oci, "index.json")); err != nil {
		t.Error(err)
	}
	cfg := config(t, f.archive)
	env, _ := json.Marshal(cfg["Env"])
	wantEnv := `["PATH=/usr/bin:/bin","PLAIN=yes","TOOL=` + nix.meta.Env["TOOL"] + `"]`
	if string(env) != wantEnv {
		t.Errorf("Env = %s, want %s", env, wantEnv)
	}
	for key, want := range map[string]string{
		"ExposedPorts": `{"8080/tcp":{}}`,
		"Volumes":      `{"/data":{}}`,
		"Entrypoint":   `["` + initPath + `","` + systemPath + `/runspec.json"]`,
	} {
		if got, _ := json.Marshal(cfg[key]); string(got) != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	if hc, _ := cfg["Healthcheck"].(map[string]any); hc == nil || hc["StartPeriod"] != 60e9 {
		t.Errorf("Healthcheck = %v, want one with the ready timeout as start period", cfg["Healthcheck"])
	}
	labels, _ := cfg["Labels"].(map[string]any)
	if labels[LabelName] != "user/app" || labels[LabelStorePaths] != strings.Join([]string{initPath, libPath, systemPath}, "\n") {
		t.Errorf("labels %v", labels)
	}
}

// TestBuildFailure fails each stage in turn: the error comes back, no tag
// moves, and no output file or directory (or temporary one) is left.
func TestBuildFailure(t *testing.T) {
	cases := []struct {
		stage string
		app   string
		setup func(*Options, *fakeNix, *fakeEngine)
		want  string
	}{
		{stage: "load", app: "service \"x\" {\n  command = 42\n}\n", want: "Incorrect value type"},
		// Render fails only on what Nix strings cannot carry (NUL bytes),
		// which loading refuses first.
		{stage: "load-nul", app: "image {\n  env = { A = \"\\u0000\" }\n}\nservice \"x\" {\n  command = \"/bin/true\"\n}\n", want: "NUL byte"},
		{stage: "realise", setup: func(_ *Options, n *fakeNix, _ *fakeEngine) {
			n.failWith = &nixbuild.BuildError{Output: "error: builder failed", Err: errors.New("exit status 1")}
		}, want: "builder failed"},
		{stage: "plan", setup: func(o *Options, _ *fakeNix, e *fakeEngine) { o.From, o.MaxLayers = "base", 1 }, want: "no room is left"},
		{stage: "write", setup: func(_ *Options, n *fakeNix, _ *fakeEngine) { n.missing = storePath('m', "gone") }, want: "writing image"},
		{stage: "deliver", setup: func(_ *Options, _ *fakeNix, e *fakeEngine) { e.failLoad = true }, want: "refused the archive"},
	}
	for _, c := range cases {
		t.Run(c.stage, func(t *testing.T) {
			app := c.app
			if app == "" {
				app = appHCL
			}
			opts, nix := setup(t, app)
			engine := newFakeEngine()
			engine.addBase(t, "base", true)
			if c.setup != nil {
				c.setup(&opts, nix, engine)
			}
			f, outs := fileOutputs(t)
			// The engine last: the files are delivered when it fails.
			outs = append(outs, output.NewEngine(engine, classic, opts.Tag, nil, false))
			res, err := Build(context.Background(), opts, Deps{Nix: nix, Engine: engine, StoreRoot: nix.root}, outs)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Build = %v, %v; want an error saying %q", res, err, c.want)
			}
			if len(engine.tags) != 0 {
				t.Errorf("tags moved: %v", engine.tags)
			}
			if got := f.left(t); len(got) != 0 {
				t.Errorf("outputs left %v, want nothing", got)
			}
			load := strings.HasPrefix(c.stage, "load")
			if load && len(nix.builds) != 0 {
				t.Errorf("Nix ran (%v) on a file that does not load", nix.builds)
			}
			var pe *Error
			if load && (!errors.As(err, &pe) || pe.Files[opts.File] == nil) {
				t.Errorf("load error %v carries no source to show", err)
			}
		})
	}
}

// TestFrom checks that --from asks the engine only what the build needs:
// with the store-paths label and only the engine to load into, an
// inspect; the layer tars only for an output that writes them (once:
// then they are cached), or when the label is missing.
func TestFrom(t *testing.T) {
	cases := []struct {
		name  string
		label bool
		files bool // file outputs too
		runs  int
		saves int
	}{
		{name: "label, engine only", label: true, runs: 1, saves: 0},
		{name: "label, archive and layout", label: true, files: true, runs: 2, saves: 1},
		{name: "no label", label: false, runs: 1, saves: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts, nix := setup(t, appHCL)
			opts.From = "base"
			engine := newFakeEngine()
			engine.addBase(t, "base", c.label)
			for i := 0; i < c.runs; i++ {
				var outs []output.Output
				if c.files {
					_, outs = fileOutputs(t)
				}
				outs = append(outs, output.NewEngine(engine, classic, opts.Tag, []string{opts.From}, false))
				if _, err := Build(context.Background(), opts, Deps{Nix: nix, Engine: engine, StoreRoot: nix.root}, outs); err != nil {
					t.Fatal(err)
				}
			}
			if engine.saves != c.saves {
				t.Errorf("%d image saves over %d builds, want %d", engine.saves, c.runs, c.saves)
			}
			for _, ref := range engine.inspects {
				if ref != "base" && ref != opts.Tag && !strings.HasPrefix(ref, "sha256:") && !docker.IsTemporary(ref) {
					t.Errorf("inspected %q, which the build does not need", ref)
				}
			}
			if !slices.Equal(engine.tags, slices.Repeat([]string{opts.Tag}, c.runs)) {
				t.Errorf("tags %v, want %s once per build", engine.tags, opts.Tag)
			}
		})
	}
}

// TestFromLabelChecked: the paths an image leaves out because the base's
// label promises them must be in the base's layers. With only the engine
// to load into, they are looked up in a container of the base (created,
// never started, removed); with the layer tars read, against the tars.
// A label that lies fails the build, naming the path, with no tag moved.
func TestFromLabelChecked(t *testing.T) {
	for _, files := range []bool{false, true} {
		for _, lies := range []bool{false, true} {
			opts, nix := setup(t, appHCL)
			opts.From = "base"
			engine := newFakeEngine()
			if lies {
				engine.addBaseHolding(t, "base", true, storePath('o', "other"))
			} else {
				engine.addBase(t, "base", true)
			}
			var outs []output.Output
			if files {
				_, outs = fileOutputs(t)
			}
			outs = append(outs, output.NewEngine(engine, classic, opts.Tag, []string{opts.From}, false))
			_, err := Build(context.Background(), opts, Deps{Nix: nix, Engine: engine, StoreRoot: nix.root}, outs)
			switch {
			case lies && (err == nil || !strings.Contains(err.Error(), libPath)):
				t.Errorf("files %v: a base whose label promises %s it lacks: %v, want an error naming it", files, libPath, err)
			case lies && len(engine.tags) != 0:
				t.Errorf("files %v: a failed build tagged %v", files, engine.tags)
			case !lies && err != nil:
				t.Errorf("files %v: %v", files, err)
			}
			wantStats := []string{libPath}
			if files {
				wantStats = nil // the tars were read: no container needed
			}
			if !slices.Equal(engine.stats, wantStats) || len(engine.containers) != 0 {
				t.Errorf("files %v, lies %v: looked up %v (containers left: %d), want %v and none left", files, lies, engine.stats, len(engine.containers), wantStats)
			}
		}
	}
}

// TestSample picks evenly, all when few.
func TestSample(t *testing.T) {
	var paths []string
	for i := 0; i < 100; i++ {
		paths = append(paths, fmt.Sprintf("/nix/store/%03d", i))
	}
	got := sample(paths, 4)
	if !slices.Equal(got, []string{paths[0], paths[25], paths[50], paths[75]}) {
		t.Errorf("sample(100 paths, 4) = %v", got)
	}
	if got := sample(paths[:3], 4); len(got) != 3 {
		t.Errorf("sample(3 paths, 4) = %v, want all 3", got)
	}
}

// TestHostStore: host-store mode runs nix-build for the system and for
// the result, and reads the closure once.
func TestHostStore(t *testing.T) {
	opts, nix := setup(t, appHCL)
	opts.OutLink = filepath.Join(t.TempDir(), "result")
	res, err := HostStore(context.Background(), opts, Deps{Nix: nix, StoreRoot: nix.root})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(nix.builds, []string{"system", "result"}) || nix.closures != 1 {
		t.Errorf("Nix calls: builds %v, closures %d; want the system, then the result, and one closure", nix.builds, nix.closures)
	}
	if res.System != systemPath || res.Result != resultPath || !strings.HasPrefix(res.ImageID, "sha256:") {
		t.Errorf("HostStore = %+v", res)
	}
	// The result's builder is the init the system path links to, already
	// in the store: the result needs no package set.
	if want := `init = builtins.storePath "` + initPath + `";`; !strings.Contains(nix.exprs[1], want) || strings.Contains(nix.exprs[1], "pkgs") {
		t.Errorf("the result's expression lacks %s or names pkgs:\n%s", want, nix.exprs[1])
	}
}

// TestInitFromCarriedSource: without --init, the render stage writes the
// init's source into the user's cache directory, and the expression has
// Nix build the init from that directory.
func TestInitFromCarriedSource(t *testing.T) {
	opts, nix := setup(t, appHCL)
	opts.InitPath = ""
	_, outs := fileOutputs(t)
	if _, err := Build(context.Background(), opts, Deps{Nix: nix, StoreRoot: nix.root}, outs); err != nil {
		t.Fatal(err)
	}
	srcs, err := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "nix-docker", "init-src", "*", "go.mod"))
	if err != nil || len(srcs) != 1 {
		t.Fatalf("the init's source in the cache directory: %v, %v; want one go.mod", srcs, err)
	}
	want := `src = builtins.path { path = "` + filepath.Dir(srcs[0]) + `"; name = "nix-docker-init-src"; };`
	if !strings.Contains(nix.exprs[0], want) || !strings.Contains(nix.exprs[0], `init = pkgs.runCommand "nix-docker-init"`) {
		t.Errorf("the expression does not build the init from %s:\n%s", filepath.Dir(srcs[0]), nix.exprs[0])
	}
}

// TestRootEntries keeps the root entries sorted, links and their parents
// included, whatever the map order.
func TestRootEntries(t *testing.T) {
	entries := withLinks(rootEntries(systemPath), map[string]string{"/bin/sh": "/x/sh", "/usr/bin/env": "/x/env", "/a": "b"})
	var got []string
	for _, e := range entries {
		got = append(got, e.Path)
	}
	want := []string{"/a", "/bin", "/bin/sh", "/etc", "/etc/group", "/etc/nsswitch.conf", "/etc/passwd", "/run", "/tmp", "/usr", "/usr/bin", "/usr/bin/env"}
	if !slices.Equal(got, want) {
		t.Errorf("entries %v, want %v", got, want)
	}
}

// TestPlatform: the image config's architecture and OS are those of the
// Nix system that built the closure (the fake Nix says aarch64-linux on
// whatever host runs the test); a system no image can run fails the
// build, with no file written.
func TestPlatform(t *testing.T) {
	opts, nix := setup(t, appHCL)
	f, outs := fileOutputs(t)
	if _, err := Build(context.Background(), opts, Deps{Nix: nix, StoreRoot: nix.root}, outs); err != nil {
		t.Fatal(err)
	}
	cfg := imageConfig(t, f.archive)
	if cfg["architecture"] != "arm64" || cfg["os"] != "linux" || cfg["variant"] != "v8" {
		t.Errorf("platform = %v/%v/%v, want arm64/linux/v8 (from aarch64-linux)", cfg["architecture"], cfg["os"], cfg["variant"])
	}

	opts, nix = setup(t, appHCL)
	nix.meta.System = "x86_64-darwin"
	f, outs = fileOutputs(t)
	_, err := Build(context.Background(), opts, Deps{Nix: nix, StoreRoot: nix.root}, outs)
	if err == nil || !strings.Contains(err.Error(), "x86_64-darwin") {
		t.Errorf("Build for x86_64-darwin: %v, want an error naming the system", err)
	}
	if left := f.left(t); len(left) != 0 {
		t.Errorf("a failed build left %v", left)
	}
}

// TestRootInAppLayer: the root filesystem's entries, whose /etc links
// name the system path, ride in the topmost layer with the system path
// itself, not in a layer of their own: a change to the app changes that
// one layer.
func TestRootInAppLayer(t *testing.T) {
	opts, nix := setup(t, appHCL)
	f, outs := fileOutputs(t)
	if _, err := Build(context.Background(), opts, Deps{Nix: nix, StoreRoot: nix.root}, outs); err != nil {
		t.Fatal(err)
	}
	layers := archiveLayers(t, f.archive)
	if len(layers) == 0 {
		t.Fatal("no layers in the archive")
	}
	top := layers[len(layers)-1]
	want := map[string]string{
		"etc/passwd":             systemPath + "/" + contract.PasswdFile,
		"tmp/":                   "",
		systemPath[1:] + "/":     "",
		systemPath[1:] + "/init": initPath,
		"nix/store/":             "",
		"etc/nsswitch.conf":      systemPath + "/" + contract.NsswitchFile,
		systemPath[1:] + "/etc/": "",
	}
	for name, link := range want {
		got, ok := top[name]
		if !ok || got != link {
			t.Errorf("top layer: %s -> %q (present %v), want it linking to %q", name, got, ok, link)
		}
	}
	for i, l := range layers[:len(layers)-1] {
		for name := range l {
			if !strings.HasPrefix(name, "nix/") {
				t.Errorf("layer %d holds %s, outside the store: the root entries belong in the top layer", i, name)
			}
		}
	}
}

// archiveLayers reads a docker-archive's layers, bottom to top: each
// layer's entry names, with their link targets ("" for others).
func archiveLayers(t *testing.T, archive string) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if files[h.Name], err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
	var manifest []struct{ Layers []string }
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json: %v (%d images)", err, len(manifest))
	}
	var out []map[string]string
	for _, name := range manifest[0].Layers {
		entries := map[string]string{}
		lr := tar.NewReader(bytes.NewReader(files[name]))
		for {
			h, err := lr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer %s: %v", name, err)
			}
			entries[h.Name] = h.Linkname
		}
		out = append(out, entries)
	}
	return out
}
