package docker

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// Inspector is the part of the Engine API Base uses.
type Inspector interface {
	ImageInspect(ctx context.Context, imageID string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
}

// Saver is the part of the Engine API SaveLayers uses.
type Saver interface {
	ImageSave(ctx context.Context, imageIDs []string, opts ...client.ImageSaveOption) (io.ReadCloser, error)
}

// BaseImage is an image the engine holds, as a base for another.
type BaseImage struct {
	ID      string
	DiffIDs []string // bottom to top
	Labels  map[string]string
}

// Base looks up ref (a name or an ID) in the engine.
func Base(ctx context.Context, c Inspector, ref string) (BaseImage, error) {
	got, err := c.ImageInspect(ctx, ref)
	if err != nil {
		if isNotFound(err) {
			return BaseImage{}, fmt.Errorf("the Docker engine has no image %s (pull or build it first)", ref)
		}
		return BaseImage{}, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	b := BaseImage{ID: got.ID, DiffIDs: got.RootFS.Layers}
	if got.Config != nil {
		b.Labels = got.Config.Labels
	}
	if got.RootFS.Type != "layers" {
		return BaseImage{}, fmt.Errorf("image %s has a root filesystem of type %q, want layers", ref, got.RootFS.Type)
	}
	return b, nil
}

// SavedLayer is a layer tar fetched from the engine.
type SavedLayer struct {
	DiffID     string
	File       string   // the uncompressed tar, in the directory given to SaveLayers
	Size       int64    // bytes of File
	StorePaths []string // /nix/store/NAME entries the layer holds, sorted
}

// layerFile is where SaveLayers keeps a layer's tar in dir, and where
// CachedLayers looks for it.
func layerFile(dir, diffID string) string {
	return filepath.Join(dir, "base-"+strings.TrimPrefix(diffID, "sha256:")+".tar")
}

// CachedLayers returns the tars of b's layers that an earlier SaveLayers
// left in dir, bottom to top, and whether every layer has one. Their
// StorePaths are not known (only a fresh save lists them).
func CachedLayers(b BaseImage, dir string) ([]SavedLayer, bool) {
	var out []SavedLayer
	for _, d := range b.DiffIDs {
		st, err := os.Stat(layerFile(dir, d))
		if err != nil {
			return out, false
		}
		out = append(out, SavedLayer{DiffID: d, File: layerFile(dir, d), Size: st.Size()})
	}
	return out, true
}

// SaveLayers fetches the layers of image ref from the engine (the Engine
// API's image save) into dir, one uncompressed tar per layer, and lists
// the store paths each one holds. Layers already in dir are not written
// again.
func SaveLayers(ctx context.Context, c Saver, ref string, dir string) ([]SavedLayer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	rc, err := c.ImageSave(ctx, []string{ref})
	if err != nil {
		return nil, fmt.Errorf("saving image %s: %w", ref, err)
	}
	defer rc.Close()
	tmp, err := os.MkdirTemp(dir, "save-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	// The archive's files land in tmp under a hash of their name (their
	// order in the stream is the engine's; manifest.json may come last).
	files := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the saved image %s: %w", ref, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(h.Name)
		sum := sha256.Sum256([]byte(name))
		f := filepath.Join(tmp, hex.EncodeToString(sum[:8]))
		out, err := os.Create(f)
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("reading the saved image %s: %w", ref, err)
		}
		files[name] = f
	}
	mf, ok := files["manifest.json"]
	if !ok {
		return nil, fmt.Errorf("the saved image %s has no manifest.json", ref)
	}
	b, err := os.ReadFile(mf)
	if err != nil {
		return nil, err
	}
	var manifest []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(b, &manifest); err != nil || len(manifest) != 1 {
		return nil, fmt.Errorf("the saved image %s: reading manifest.json: %v", ref, err)
	}
	var out []SavedLayer
	for _, l := range manifest[0].Layers {
		f, ok := files[path.Clean(l)]
		if !ok {
			return nil, fmt.Errorf("the saved image %s lacks its layer %s", ref, l)
		}
		diffID, size, paths, err := scanLayer(f)
		if err != nil {
			return nil, fmt.Errorf("the saved image %s, layer %s: %w", ref, l, err)
		}
		dst := layerFile(dir, diffID)
		if _, err := os.Stat(dst); err != nil {
			if err := os.Rename(f, dst); err != nil {
				return nil, err
			}
		}
		out = append(out, SavedLayer{DiffID: diffID, File: dst, Size: size, StorePaths: paths})
	}
	return out, nil
}

// scanLayer hashes an uncompressed layer tar and lists the store paths in
// it.
func scanLayer(file string) (diffID string, size int64, paths []string, err error) {
	f, err := os.Open(file)
	if err != nil {
		return "", 0, nil, err
	}
	defer f.Close()
	h := sha256.New()
	cr := &countReader{r: io.TeeReader(f, h)}
	tr := tar.NewReader(cr)
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, nil, err
		}
		rest, ok := strings.CutPrefix(strings.TrimPrefix(path.Clean("/"+hdr.Name), "/"), "nix/store/")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, "/")
		if name == "" || strings.HasPrefix(name, ".wh.") || strings.HasPrefix(name, ".") {
			continue
		}
		seen["/nix/store/"+name] = true
	}
	// Read what the tar reader left (the end-of-archive padding).
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return "", 0, nil, err
	}
	for p := range seen {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), cr.n, paths, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
