package image

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// manifestEntry is one image in a docker-archive's manifest.json.
type manifestEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// WriteArchive streams the image as a docker-archive (the `docker save`
// format: manifest.json, <config hex>.json, <diffID hex>/layer.tar) to w
// and returns the bytes written. With no repoTags the engine loads the
// image by ID only. A layer for which omit returns true is left out of the
// archive, though manifest.json still lists it: an engine that already
// holds the layer and every layer below it loads such a partial archive.
func (img *Image) WriteArchive(w io.Writer, repoTags []string, omit func(diffID string) bool) (int64, error) {
	cw := &countWriter{w: w}
	tw := tar.NewWriter(cw)
	configName := strings.TrimPrefix(img.ID(), "sha256:") + ".json"
	m := manifestEntry{Config: configName, RepoTags: repoTags, Layers: []string{}}
	if m.RepoTags == nil {
		m.RepoTags = []string{}
	}
	written := map[string]bool{}
	for _, l := range img.Layers {
		dir := strings.TrimPrefix(l.DiffID, "sha256:")
		m.Layers = append(m.Layers, dir+"/layer.tar")
		if written[dir] || (omit != nil && omit(l.DiffID)) {
			continue
		}
		written[dir] = true
		if err := writeLayerFile(tw, dir, l); err != nil {
			return cw.n, err
		}
	}
	manifest, err := json.Marshal([]manifestEntry{m})
	if err != nil {
		return cw.n, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{configName, img.Config}, {"manifest.json", manifest}} {
		h := header(f.name, tar.TypeReg, 0o644)
		h.Size = int64(len(f.data))
		if err := tw.WriteHeader(h); err != nil {
			return cw.n, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return cw.n, err
		}
	}
	if err := tw.Close(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

func writeLayerFile(tw *tar.Writer, dir string, l Layer) error {
	if l.File == "" {
		return fmt.Errorf("layer %s of the base image is not available here (only the engine holds it)", l.DiffID)
	}
	f, err := os.Open(l.File)
	if err != nil {
		return fmt.Errorf("opening layer %s: %w", l.DiffID, err)
	}
	defer f.Close()
	if err := tw.WriteHeader(header(dir+"/", tar.TypeDir, 0o755)); err != nil {
		return err
	}
	h := header(dir+"/layer.tar", tar.TypeReg, 0o644)
	h.Size = l.Size
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	n, err := io.Copy(tw, f)
	if err != nil {
		return fmt.Errorf("copying layer %s: %w", l.DiffID, err)
	}
	if n != l.Size {
		return fmt.Errorf("layer %s: the cached tar %s has %d bytes, want %d", l.DiffID, l.File, n, l.Size)
	}
	return nil
}
