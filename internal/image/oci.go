package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// OCI media types (image-spec v1.1).
const (
	ociManifestType = "application/vnd.oci.image.manifest.v1+json"
	ociConfigType   = "application/vnd.oci.image.config.v1+json"
	ociLayerType    = "application/vnd.oci.image.layer.v1.tar"
	// OCIRefName is the index.json annotation that names an image in a
	// layout (skopeo's oci:DIR:NAME, umoci's --image DIR:NAME).
	OCIRefName = "org.opencontainers.image.ref.name"
)

type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociManifest struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType"`
	Config        ociDescriptor   `json:"config"`
	Layers        []ociDescriptor `json:"layers"`
}

type ociIndex struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType"`
	Manifests     []ociDescriptor `json:"manifests"`
}

// WriteOCI writes the image as an OCI image layout in dir (created when
// missing): blobs/sha256/ holds the uncompressed layer tars (made from
// the store), the config and the manifest;
// index.json lists the image under refName ("" for none). Blobs already in
// dir are kept, and index.json is rewritten to hold only this image.
func (img *Image) WriteOCI(dir, refName string) error {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	m := ociManifest{SchemaVersion: 2, MediaType: ociManifestType, Layers: []ociDescriptor{}}
	for _, l := range img.Layers {
		if err := layerBlob(blobs, l); err != nil {
			return fmt.Errorf("writing layer %s: %w", l.DiffID, err)
		}
		m.Layers = append(m.Layers, ociDescriptor{MediaType: ociLayerType, Digest: l.DiffID, Size: l.Size})
	}
	cfg, err := writeBlob(blobs, ociConfigType, img.Config)
	if err != nil {
		return err
	}
	m.Config = cfg
	mb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	md, err := writeBlob(blobs, ociManifestType, mb)
	if err != nil {
		return err
	}
	if refName != "" {
		md.Annotations = map[string]string{OCIRefName: refName}
	}
	index, err := json.Marshal(ociIndex{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json", Manifests: []ociDescriptor{md}})
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "index.json"), index)
}

func writeBlob(blobs, mediaType string, data []byte) (ociDescriptor, error) {
	d := digestOf(data)
	if err := writeFileAtomic(filepath.Join(blobs, strings.TrimPrefix(d, "sha256:")), data); err != nil {
		return ociDescriptor{}, err
	}
	return ociDescriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}, nil
}

// layerBlob puts the layer's tar in blobs under its digest, unless it is
// there.
func layerBlob(blobs string, l Layer) error {
	dst := filepath.Join(blobs, strings.TrimPrefix(l.DiffID, "sha256:"))
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	rc, err := l.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return writeAtomic(dst, rc)
}

func writeFileAtomic(name string, data []byte) error {
	return writeAtomic(name, bytes.NewReader(data))
}

// writeAtomic writes r to name through a temporary file in the same
// directory, so name is either absent or complete.
func writeAtomic(name string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
