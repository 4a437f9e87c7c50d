package pipeline

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
	"path/filepath"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nix-docker/nix-docker/internal/contract"
	"github.com/nix-docker/nix-docker/internal/nixbuild"
)

// storePath is a store path with a fake hash made of c.
func storePath(c byte, name string) string {
	return "/nix/store/" + strings.Repeat(string(c), 32) + "-" + name
}

var (
	systemPath = storePath('s', contract.SystemName)
	initPath   = storePath('i', "nix-docker-init")
	libPath    = storePath('l', "lib")
	resultPath = storePath('r', "nix-docker-run")
)

// fakeNix builds into a fake store under root: the system path with the
// contract's layout (its metadata is meta), the init, a library; and
// host-store mode's result. It counts its calls.
type fakeNix struct {
	root     string
	meta     contract.Metadata
	failWith error // Build fails with it
	missing  string
	builds   []string // what each Build built: "system" or "result"
	exprs    []string // the expression of each Build
	closures int
}

func newFakeNix(t *testing.T) *fakeNix {
	// Not the host's system: the image's platform must come from Nix.
	n := &fakeNix{root: t.TempDir(), meta: contract.Metadata{System: "aarch64-linux"}}
	n.write(t, initPath, "", "#!init\n")
	n.write(t, libPath, "lib/libx.so", "library\n")
	return n
}

func (n *fakeNix) write(t *testing.T, storePath, rel, text string) {
	t.Helper()
	p := filepath.Join(n.root, storePath, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (n *fakeNix) Build(_ context.Context, file, outLink string) (string, error) {
	expr, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	n.exprs = append(n.exprs, string(expr))
	if n.failWith != nil {
		return "", n.failWith
	}
	if strings.Contains(string(expr), `name = "`+contract.SystemName+`"`) {
		n.builds = append(n.builds, "system")
		return systemPath, n.makeSystem()
	}
	n.builds = append(n.builds, "result")
	return resultPath, os.MkdirAll(filepath.Join(n.root, resultPath), 0o755)
}

func (n *fakeNix) makeSystem() error {
	dir := filepath.Join(n.root, systemPath)
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		return err
	}
	meta, _ := json.Marshal(n.meta)
	for name, text := range map[string]string{
		contract.RunspecFile: `{"version":1}`, contract.MetadataFile: string(meta),
		contract.PasswdFile: "root:x:0:0::/root:/bin/sh\n", contract.GroupFile: "root:x:0:\n", contract.NsswitchFile: "passwd: files\n",
	} {
		// As Nix, leave a path that is there alone (its inode and change
		// time tell the closure cache it is the same path).
		if have, err := os.ReadFile(filepath.Join(dir, name)); err == nil && string(have) == text {
			continue
		}
		os.Remove(filepath.Join(dir, name))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o444); err != nil {
			return err
		}
	}
	link := filepath.Join(dir, contract.InitLink)
	if have, err := os.Readlink(link); err == nil && have == initPath {
		return nil
	}
	os.Remove(link)
	return os.Symlink(initPath, link)
}

func (n *fakeNix) Closure(_ context.Context, path string) ([]nixbuild.PathInfo, error) {
	n.closures++
	out := []nixbuild.PathInfo{
		{Path: initPath, NarSize: 2 << 20},
		{Path: libPath, NarSize: 1 << 20},
		{Path: systemPath, NarSize: 4096, References: []string{initPath, libPath}},
	}
	if n.missing != "" {
		out = append(out, nixbuild.PathInfo{Path: n.missing, NarSize: 1})
	}
	return out, nil
}

// fakeEngine is a Docker engine: it answers inspects from images, saves
// the images it holds layer tars for, loads archives (or fails to), and
// tags. It records every call.
type fakeEngine struct {
	images   map[string]string // ref -> InspectResponse JSON
	layers   map[string][]byte // diffID -> layer tar, for saves
	failLoad bool

	inspects   []string
	saves      int
	loads      int
	tags       []string
	containers map[string]string // created container -> image
	stats      []string          // paths looked up in containers
	removed    int
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{images: map[string]string{}, layers: map[string][]byte{}, containers: map[string]string{}}
}

// addBase adds an image whose one layer holds libPath; with label, it
// carries the store-paths label as nix-docker writes it.
func (e *fakeEngine) addBase(t *testing.T, ref string, label bool) {
	t.Helper()
	e.addBaseHolding(t, ref, label, libPath)
}

// addBaseHolding adds an image whose one layer holds the store paths
// given; with label, its store-paths label promises libPath, whatever
// the layer holds.
func (e *fakeEngine) addBaseHolding(t *testing.T, ref string, label bool, holds ...string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	headers := []*tar.Header{
		{Name: "nix/", Typeflag: tar.TypeDir, Mode: 0o555},
		{Name: "nix/store/", Typeflag: tar.TypeDir, Mode: 0o555},
	}
	for _, p := range holds {
		headers = append(headers, &tar.Header{Name: strings.TrimPrefix(p, "/") + "/", Typeflag: tar.TypeDir, Mode: 0o555})
	}
	for _, h := range headers {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	sum := sha256.Sum256(buf.Bytes())
	diffID := "sha256:" + hex.EncodeToString(sum[:])
	e.layers[diffID] = buf.Bytes()
	labels := map[string]string{}
	if label {
		labels[LabelStorePaths] = libPath
	}
	b, _ := json.Marshal(map[string]any{
		"Id":     "sha256:base-" + ref,
		"RootFS": map[string]any{"Type": "layers", "Layers": []string{diffID}},
		"Config": map[string]any{"Labels": labels},
	})
	e.images[ref] = string(b)
	e.images["sha256:base-"+ref] = string(b)
}

func (e *fakeEngine) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	e.inspects = append(e.inspects, ref)
	var r image.InspectResponse
	b, ok := e.images[ref]
	if !ok {
		return r, cerrdefs.ErrNotFound.WithMessage("No such image: " + ref)
	}
	err := json.Unmarshal([]byte(b), &r)
	return r, err
}

// ImageList lists no image nix-docker built: these tests give the
// engine's holdings through the tag and the base only.
func (e *fakeEngine) ImageList(context.Context, image.ListOptions) ([]image.Summary, error) {
	return nil, nil
}

func (e *fakeEngine) ImageSave(_ context.Context, refs []string, _ ...client.ImageSaveOption) (io.ReadCloser, error) {
	e.saves++
	var r image.InspectResponse
	if err := json.Unmarshal([]byte(e.images[refs[0]]), &r); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	var names []string
	for _, d := range r.RootFS.Layers {
		name := strings.TrimPrefix(d, "sha256:") + "/layer.tar"
		names = append(names, name)
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(e.layers[d]))})
		tw.Write(e.layers[d])
	}
	manifest, _ := json.Marshal([]map[string]any{{"Config": "config.json", "Layers": names}})
	tw.WriteHeader(&tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(manifest))})
	tw.Write(manifest)
	tw.Close()
	return io.NopCloser(&buf), nil
}

func (e *fakeEngine) ImageLoad(_ context.Context, r io.Reader, _ ...client.ImageLoadOption) (image.LoadResponse, error) {
	e.loads++
	var manifest []struct {
		Config   string
		RepoTags []string
	}
	configs := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return image.LoadResponse{}, err
		}
		switch {
		case h.Name == "manifest.json":
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				return image.LoadResponse{}, err
			}
		case strings.HasSuffix(h.Name, ".json"):
			configs[h.Name], _ = io.ReadAll(tr)
		}
	}
	if e.failLoad || len(manifest) != 1 {
		return image.LoadResponse{}, errors.New("the engine refused the archive")
	}
	var cfg struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(configs[manifest[0].Config], &cfg); err != nil {
		return image.LoadResponse{}, err
	}
	id := "sha256:" + strings.TrimSuffix(manifest[0].Config, ".json")
	b, _ := json.Marshal(map[string]any{"Id": id, "RootFS": map[string]any{"Type": "layers", "Layers": cfg.RootFS.DiffIDs}})
	e.images[id] = string(b)
	for _, t := range manifest[0].RepoTags {
		e.images[t] = string(b)
	}
	answer, _ := json.Marshal(map[string]string{"stream": "Loaded image ID: " + id + "\n"})
	return image.LoadResponse{Body: io.NopCloser(bytes.NewReader(answer)), JSON: true}, nil
}

// ImageRemove takes a name off (the engine output's temporary one).
func (e *fakeEngine) ImageRemove(_ context.Context, ref string, _ image.RemoveOptions) ([]image.DeleteResponse, error) {
	if _, ok := e.images[ref]; !ok {
		return nil, cerrdefs.ErrNotFound.WithMessage("No such image: " + ref)
	}
	delete(e.images, ref)
	return []image.DeleteResponse{{Untagged: ref}}, nil
}

func (e *fakeEngine) ContainerCreate(_ context.Context, cfg *container.Config, _ *container.HostConfig, _ *network.NetworkingConfig, _ *ocispec.Platform, _ string) (container.CreateResponse, error) {
	if _, ok := e.images[cfg.Image]; !ok {
		return container.CreateResponse{}, cerrdefs.ErrNotFound.WithMessage("No such image: " + cfg.Image)
	}
	id := fmt.Sprintf("container%d", len(e.containers)+1)
	e.containers[id] = cfg.Image
	return container.CreateResponse{ID: id}, nil
}

// ContainerStatPath finds path in the layers of the container's image.
func (e *fakeEngine) ContainerStatPath(_ context.Context, id, path string) (container.PathStat, error) {
	e.stats = append(e.stats, path)
	var r image.InspectResponse
	if err := json.Unmarshal([]byte(e.images[e.containers[id]]), &r); err != nil {
		return container.PathStat{}, err
	}
	for _, d := range r.RootFS.Layers {
		tr := tar.NewReader(bytes.NewReader(e.layers[d]))
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if strings.TrimSuffix(h.Name, "/") == strings.TrimPrefix(path, "/") {
				return container.PathStat{Name: h.Name}, nil
			}
		}
	}
	return container.PathStat{}, cerrdefs.ErrNotFound.WithMessage("Could not find the file " + path)
}

func (e *fakeEngine) ContainerRemove(_ context.Context, id string, _ container.RemoveOptions) error {
	delete(e.containers, id)
	e.removed++
	return nil
}

func (e *fakeEngine) ImageTag(_ context.Context, source, target string) error {
	e.tags = append(e.tags, target)
	e.images[target] = e.images[source]
	return nil
}
