package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	libPath = "/nix/store/0c1hbkr8ls1mv43cbjcqy8gf4m3vmmwq-lib-1.0"
	appPath = "/nix/store/1d2ncm9vn2hpw54dckdrz9hg5n4wnnxr-app-1.0"
)

// fakeStore makes a small store tree under a temp dir with fixed modes (so
// the umask does not matter) and returns the root.
func fakeStore(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write := func(p string, mode fs.FileMode, data string) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
	}
	write(libPath+"/lib/libfoo.so", 0o444, "not really ELF\n")
	write(appPath+"/bin/app", 0o555, "#!/bin/sh\necho hello\n")
	write(appPath+"/share/doc/README", 0o444, "app\n")
	if err := os.Symlink(libPath+"/lib/libfoo.so", filepath.Join(root, appPath, "lib-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../bin/app", filepath.Join(root, appPath, "share", "app-rel")); err != nil {
		t.Fatal(err)
	}
	// Directories as in the store: read-only, bottom up.
	for _, d := range []string{appPath + "/share/doc", appPath + "/share", appPath + "/bin", appPath, libPath + "/lib", libPath} {
		if err := os.Chmod(filepath.Join(root, d), 0o555); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		// Let t.TempDir remove the read-only tree.
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	return root
}

func testSpec(root string) Spec {
	return Spec{
		Layers:   [][]string{{libPath}, {appPath}},
		Platform: Platform{Architecture: "amd64", OS: "linux"},
		Extra: []Entry{
			{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
			{Path: "/etc/passwd", Mode: fs.ModeSymlink | 0o777, Target: appPath + "/share/doc/README"},
			{Path: "/etc/hostname", Mode: 0o444, Data: []byte("box\n")},
		},
		Entrypoint:   []string{appPath + "/bin/app"},
		Cmd:          []string{"--serve"},
		Env:          []string{"PATH=" + appPath + "/bin", "A=1"},
		ExposedPorts: []string{"80/tcp", "6379/tcp"},
		Volumes:      []string{"/data"},
		Labels:       map[string]string{"b": "2", "a": "1"},
		WorkingDir:   "/",
		Created:      time.Unix(1700000000, 0),
		Root:         root,
	}
}

type tarEntry struct {
	hdr  tar.Header
	data string
}

func readTar(t *testing.T, r io.Reader) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{*h, string(b)})
	}
}

// layerBytes makes the layer's tar again (Layer.Open) and reads it whole.
func layerBytes(t *testing.T, l Layer) []byte {
	t.Helper()
	rc, err := l.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readLayer(t *testing.T, l Layer) []tarEntry {
	t.Helper()
	return readTar(t, bytes.NewReader(layerBytes(t, l)))
}

func TestBuildDeterministic(t *testing.T) {
	root := fakeStore(t)
	a, err := Build(testSpec(root), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(testSpec(root), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() != b.ID() {
		t.Errorf("Build twice: IDs %s and %s, want equal", a.ID(), b.ID())
	}
	for i := range a.Layers {
		if !bytes.Equal(layerBytes(t, a.Layers[i]), layerBytes(t, b.Layers[i])) {
			t.Errorf("layer %d differs between two builds", i)
		}
	}
	// Pinned: a change here changes every image nix-docker makes. If it is
	// intended, say why in the commit that updates it.
	const wantID = "sha256:a0c09a3103db2546dc438dfb114bf11311515867bc51bf4920b47ddb5f7ab2af"
	if a.ID() != wantID {
		t.Errorf("Build(testSpec).ID() = %s, want %s", a.ID(), wantID)
	}
}

func TestBuildCache(t *testing.T) {
	root := fakeStore(t)
	cache := t.TempDir()
	a, err := Build(testSpec(root), cache)
	if err != nil {
		t.Fatal(err)
	}
	// A cached layer is reused without reading the store: make the store
	// unreadable by moving it away.
	moved := root + ".moved"
	if err := os.Rename(root, moved); err != nil {
		t.Fatal(err)
	}
	defer os.Rename(moved, root)
	b, err := Build(testSpec(root), cache)
	if err != nil {
		t.Fatalf("Build from cache: %v", err)
	}
	if a.ID() != b.ID() {
		t.Errorf("Build from cache: ID %s, want %s", b.ID(), a.ID())
	}
	// A different Created changes the config only, never the layers.
	spec := testSpec(root)
	spec.Created = time.Unix(1800000000, 0)
	c, err := Build(spec, cache)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() == a.ID() {
		t.Errorf("Build with another Created: same ID %s", c.ID())
	}
	if strings.Join(c.DiffIDs(), ",") != strings.Join(a.DiffIDs(), ",") {
		t.Errorf("Build with another Created: layers %v, want %v", c.DiffIDs(), a.DiffIDs())
	}
}

func TestLayerContent(t *testing.T) {
	root := fakeStore(t)
	img, err := Build(testSpec(root), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 3 {
		t.Fatalf("Build: %d layers, want 3", len(img.Layers))
	}
	type want struct {
		name     string
		typ      byte
		mode     int64
		linkname string
	}
	cases := []struct {
		layer int
		want  []want
	}{
		{0, []want{
			{"nix/", tar.TypeDir, 0o555, ""},
			{"nix/store/", tar.TypeDir, 0o555, ""},
			{libPath[1:] + "/", tar.TypeDir, 0o555, ""},
			{libPath[1:] + "/lib/", tar.TypeDir, 0o555, ""},
			{libPath[1:] + "/lib/libfoo.so", tar.TypeReg, 0o444, ""},
		}},
		{1, []want{
			{"nix/", tar.TypeDir, 0o555, ""},
			{"nix/store/", tar.TypeDir, 0o555, ""},
			{appPath[1:] + "/", tar.TypeDir, 0o555, ""},
			{appPath[1:] + "/bin/", tar.TypeDir, 0o555, ""},
			{appPath[1:] + "/bin/app", tar.TypeReg, 0o555, ""},
			{appPath[1:] + "/lib-link", tar.TypeSymlink, 0o777, libPath + "/lib/libfoo.so"},
			{appPath[1:] + "/share/", tar.TypeDir, 0o555, ""},
			{appPath[1:] + "/share/app-rel", tar.TypeSymlink, 0o777, "../bin/app"},
			{appPath[1:] + "/share/doc/", tar.TypeDir, 0o555, ""},
			{appPath[1:] + "/share/doc/README", tar.TypeReg, 0o444, ""},
		}},
		{2, []want{
			{"etc/", tar.TypeDir, 0o755, ""},
			{"etc/hostname", tar.TypeReg, 0o444, ""},
			{"etc/passwd", tar.TypeSymlink, 0o777, appPath + "/share/doc/README"},
			{"tmp/", tar.TypeDir, 0o1777, ""},
		}},
	}
	for _, c := range cases {
		got := readLayer(t, img.Layers[c.layer])
		if len(got) != len(c.want) {
			var names []string
			for _, e := range got {
				names = append(names, e.hdr.Name)
			}
			t.Fatalf("layer %d: entries %q, want %d entries", c.layer, names, len(c.want))
		}
		for i, w := range c.want {
			h := got[i].hdr
			if h.Name != w.name || h.Typeflag != w.typ || h.Mode != w.mode || h.Linkname != w.linkname {
				t.Errorf("layer %d entry %d = %q type %c mode %o link %q, want %q type %c mode %o link %q",
					c.layer, i, h.Name, h.Typeflag, h.Mode, h.Linkname, w.name, w.typ, w.mode, w.linkname)
			}
			if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
				t.Errorf("layer %d %s: owner %d:%d %q:%q, want 0:0 and no names", c.layer, h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
			}
			if !h.ModTime.Equal(time.Unix(1, 0)) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
				t.Errorf("layer %d %s: times %v %v %v, want mtime Unix 1 only", c.layer, h.Name, h.ModTime, h.AccessTime, h.ChangeTime)
			}
			if len(h.PAXRecords) != 0 || len(h.Xattrs) != 0 {
				t.Errorf("layer %d %s: PAX records %v, want none", c.layer, h.Name, h.PAXRecords)
			}
		}
	}
	if got := readLayer(t, img.Layers[1])[4].data; got != "#!/bin/sh\necho hello\n" {
		t.Errorf("bin/app content = %q", got)
	}
}

func TestConfig(t *testing.T) {
	root := fakeStore(t)
	img, err := Build(testSpec(root), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Architecture, OS, Created string
		Config                    struct {
			Entrypoint, Cmd, Env []string
			ExposedPorts         map[string]struct{}
			Volumes              map[string]struct{}
			Labels               map[string]string
			WorkingDir           string
		}
		RootFS struct {
			Type    string
			DiffIDs []string `json:"diff_ids"`
		}
		History []struct {
			Created   string
			CreatedBy string `json:"created_by"`
		}
	}
	if err := json.Unmarshal(img.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Architecture != "amd64" || cfg.OS != "linux" || cfg.Created != "2023-11-14T22:13:20Z" {
		t.Errorf("config arch/os/created = %s/%s/%s", cfg.Architecture, cfg.OS, cfg.Created)
	}
	if strings.Join(cfg.Config.Env, " ") != "PATH="+appPath+"/bin A=1" {
		t.Errorf("Env = %q, want the given order", cfg.Config.Env)
	}
	if _, ok := cfg.Config.ExposedPorts["6379/tcp"]; !ok || len(cfg.Config.ExposedPorts) != 2 {
		t.Errorf("ExposedPorts = %v", cfg.Config.ExposedPorts)
	}
	if cfg.RootFS.Type != "layers" || strings.Join(cfg.RootFS.DiffIDs, ",") != strings.Join(img.DiffIDs(), ",") {
		t.Errorf("rootfs = %+v, want layers %v", cfg.RootFS, img.DiffIDs())
	}
	if len(cfg.History) != 3 || cfg.History[1].CreatedBy != "nix-docker: "+appPath || cfg.History[2].CreatedBy != "nix-docker: root filesystem" {
		t.Errorf("history = %+v", cfg.History)
	}
	if !bytes.Contains(img.Config, []byte(`"Labels":{"a":"1","b":"2"}`)) {
		t.Errorf("config %s: labels not sorted", img.Config)
	}
	// Zero Created is fixed, not now.
	spec := testSpec(root)
	spec.Created = time.Time{}
	img, err = Build(spec, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(img.Config, []byte(`"created":"1970-01-01T00:00:01Z"`)) {
		t.Errorf("config with zero Created = %s, want created 1970-01-01T00:00:01Z", img.Config)
	}
}

func TestBuildRefuses(t *testing.T) {
	root := fakeStore(t)
	outside := "/nix/store/9z9z9z9z9z9z9z9z9z9z9z9z9z9z9z9z-other"
	cases := []struct {
		name   string
		modify func(*Spec)
		want   string
	}{
		{"store symlink outside closure", func(s *Spec) { s.Layers = [][]string{{appPath}} }, "outside the image's closure"},
		{"extra symlink outside closure", func(s *Spec) {
			s.Extra = append(s.Extra, Entry{Path: "/etc/group", Mode: fs.ModeSymlink | 0o777, Target: outside + "/etc/group"})
		}, "outside the image's closure"},
		{"path in two layers", func(s *Spec) { s.Layers = [][]string{{libPath}, {libPath, appPath}} }, "more than one layer"},
		{"not a store path", func(s *Spec) { s.Layers = [][]string{{"/etc"}} }, "not a store path"},
		{"missing store path", func(s *Spec) { s.Layers = [][]string{{libPath}, {appPath, outside}} }, "no such file"},
		{"port without protocol", func(s *Spec) { s.ExposedPorts = []string{"80"} }, "no protocol"},
		{"extra in /nix", func(s *Spec) {
			s.Extra = append(s.Extra, Entry{Path: "/nix/var", Mode: fs.ModeDir | 0o755})
		}, "/nix holds the store paths only"},
		{"extra below a file", func(s *Spec) {
			s.Extra = append(s.Extra, Entry{Path: "/etc/hostname/x", Mode: 0o444})
		}, "not a directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := testSpec(root)
			c.modify(&spec)
			_, err := Build(spec, t.TempDir())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Build = %v, want error containing %q", err, c.want)
			}
		})
	}
}

func TestWriteArchive(t *testing.T) {
	root := fakeStore(t)
	img, err := Build(testSpec(root), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		tags     []string
		omit     func(string) bool
		wantTars int
	}{
		{"full", []string{"demo/app:latest"}, nil, 3},
		{"untagged partial", nil, func(d string) bool { return d == img.Layers[0].DiffID }, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			n, err := img.WriteArchive(&buf, c.tags, c.omit)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(buf.Len()) {
				t.Errorf("WriteArchive = %d bytes, wrote %d", n, buf.Len())
			}
			files := map[string]string{}
			for _, e := range readTar(t, &buf) {
				if e.hdr.Typeflag == tar.TypeReg {
					files[e.hdr.Name] = e.data
				}
			}
			var m []struct {
				Config   string
				RepoTags []string
				Layers   []string
			}
			if err := json.Unmarshal([]byte(files["manifest.json"]), &m); err != nil {
				t.Fatalf("manifest.json: %v", err)
			}
			if len(m) != 1 || len(m[0].Layers) != 3 || strings.Join(m[0].RepoTags, ",") != strings.Join(c.tags, ",") {
				t.Fatalf("manifest = %+v, want one image, 3 layers, tags %v", m, c.tags)
			}
			if m[0].RepoTags == nil {
				t.Errorf("manifest RepoTags = null, want []")
			}
			if files[m[0].Config] != string(img.Config) {
				t.Errorf("config file %s missing or different", m[0].Config)
			}
			tars := 0
			for i, l := range m[0].Layers {
				if want := strings.TrimPrefix(img.Layers[i].DiffID, "sha256:") + "/layer.tar"; l != want {
					t.Errorf("manifest layer %d = %s, want %s", i, l, want)
				}
				if data, ok := files[l]; ok {
					tars++
					if data != string(layerBytes(t, img.Layers[i])) {
						t.Errorf("archive %s differs from the layer tar", l)
					}
				}
			}
			if tars != c.wantTars {
				t.Errorf("archive holds %d layer tars, want %d", tars, c.wantTars)
			}
		})
	}
}

func TestStorePathSymlink(t *testing.T) {
	root := fakeStore(t)
	link := "/nix/store/7f8tgjz24a0mzmqr7s1uhkgz3l03i5h6-link"
	if err := os.Symlink(appPath+"/bin", filepath.Join(root, link)); err != nil {
		t.Fatal(err)
	}
	spec := testSpec(root)
	spec.Layers = append(spec.Layers, []string{link})
	img, err := Build(spec, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got := readLayer(t, img.Layers[2])
	if len(got) != 3 || got[2].hdr.Name != link[1:] || got[2].hdr.Typeflag != tar.TypeSymlink || got[2].hdr.Linkname != appPath+"/bin" {
		t.Errorf("layer of a symlink store path = %+v, want nix/, nix/store/ and the symlink itself", got)
	}
}

// TestPlatformOf maps Nix systems to the image config's platform, and
// refuses systems an image cannot run.
func TestPlatformOf(t *testing.T) {
	for system, want := range map[string]Platform{
		"x86_64-linux":  {Architecture: "amd64", OS: "linux"},
		"aarch64-linux": {Architecture: "arm64", OS: "linux", Variant: "v8"},
		"armv7l-linux":  {Architecture: "arm", OS: "linux", Variant: "v7"},
		"i686-linux":    {Architecture: "386", OS: "linux"},
	} {
		if got, err := PlatformOf(system); err != nil || got != want {
			t.Errorf("PlatformOf(%q) = %+v, %v; want %+v", system, got, err, want)
		}
	}
	for _, system := range []string{"x86_64-darwin", "aarch64-darwin", "", "x86_64", "vax-linux"} {
		if p, err := PlatformOf(system); err == nil {
			t.Errorf("PlatformOf(%q) = %+v, want an error", system, p)
		}
	}
}

// TestConfigPlatform writes the platform it is given, and refuses to
// write a config without one.
func TestConfigPlatform(t *testing.T) {
	spec := testSpec(fakeStore(t))
	spec.Platform = Platform{Architecture: "arm64", OS: "linux", Variant: "v8"}
	img, err := Build(spec, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var cfg configFile
	if err := json.Unmarshal(img.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Architecture != "arm64" || cfg.OS != "linux" || cfg.Variant != "v8" {
		t.Errorf("config platform = %s/%s/%s, want arm64/linux/v8", cfg.Architecture, cfg.OS, cfg.Variant)
	}
	spec.Platform = Platform{}
	if _, err := Build(spec, t.TempDir()); err == nil {
		t.Error("Build without a platform succeeded")
	}
}
