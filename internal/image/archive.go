package image

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
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
	rc, err := l.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := tw.WriteHeader(header(dir+"/", tar.TypeDir, 0o755)); err != nil {
		return err
	}
	h := header(dir+"/layer.tar", tar.TypeReg, 0o644)
	h.Size = l.Size
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	// Open checks the bytes against DiffID and Size at their end; the
	// tar writer refuses more than Size.
	if _, err := io.Copy(tw, rc); err != nil {
		return fmt.Errorf("copying layer %s: %w", l.DiffID, err)
	}
	return nil
}
