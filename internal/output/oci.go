package output

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nix-docker/nix-docker/internal/image"
)

// OCI writes the image as an OCI image layout in a directory. The layout
// is written beside the directory first and moved in on Commit: blobs
// join those already there, index.json is replaced.
type OCI struct {
	dir string
	ref string // the image's name in index.json
	tmp string // the layout Deliver wrote
}

// NewOCI returns the output that writes an OCI layout to dir, naming the
// image by tag's TAG part ("latest" when tag is "" or has none).
func NewOCI(dir, tag string) *OCI {
	return &OCI{dir: dir, ref: tagPart(tag)}
}

func (o *OCI) Name() string          { return "oci" }
func (o *OCI) NeedsBaseLayers() bool { return true }

// Deliver writes the layout into a temporary directory beside dir.
func (o *OCI) Deliver(_ context.Context, img *image.Image) (Report, error) {
	if st, err := os.Stat(o.dir); err == nil && !st.IsDir() {
		return Report{}, fmt.Errorf("writing the OCI layout: %s is not a directory", o.dir)
	}
	if err := os.MkdirAll(filepath.Dir(o.dir), 0o755); err != nil {
		return Report{}, fmt.Errorf("writing the OCI layout %s: %w", o.dir, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(o.dir), "."+filepath.Base(o.dir)+".tmp-*")
	if err != nil {
		return Report{}, fmt.Errorf("writing the OCI layout %s: %w", o.dir, err)
	}
	if err := img.WriteOCI(tmp, o.ref); err != nil {
		os.RemoveAll(tmp)
		return Report{}, fmt.Errorf("writing the OCI layout %s: %w", o.dir, err)
	}
	o.tmp = tmp
	var size int64
	for _, l := range img.Layers {
		size += l.Size
	}
	return Report{
		Output:     o.Name(),
		ImageID:    img.ID(),
		Summary:    fmt.Sprintf("wrote %s to the OCI layout %s", img.ID(), o.dir),
		Detail:     fmt.Sprintf("%d layers, %s", len(img.Layers), ByteSize(size)),
		LayersSent: len(img.Layers),
		BytesSent:  size,
	}, nil
}

// Commit moves the layout into dir: the whole directory when dir does not
// exist, else the blobs it lacks and then oci-layout and index.json.
func (o *OCI) Commit(context.Context) error {
	if o.tmp == "" {
		return nil
	}
	defer o.Abort()
	err := os.Rename(o.tmp, o.dir)
	if err == nil {
		o.tmp = ""
		return nil
	}
	if _, serr := os.Stat(o.dir); serr != nil {
		return fmt.Errorf("writing the OCI layout %s: %w", o.dir, err)
	}
	if err := o.merge(); err != nil {
		return fmt.Errorf("writing the OCI layout %s: %w", o.dir, err)
	}
	return nil
}

// merge moves the temporary layout's files into the existing dir; the
// index comes last, so dir names the new image only once it is whole.
func (o *OCI) merge() error {
	blobs := filepath.Join("blobs", "sha256")
	if err := os.MkdirAll(filepath.Join(o.dir, blobs), 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(filepath.Join(o.tmp, blobs))
	if err != nil {
		return err
	}
	for _, e := range ents {
		dst := filepath.Join(o.dir, blobs, e.Name())
		if _, err := os.Stat(dst); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.Rename(filepath.Join(o.tmp, blobs, e.Name()), dst); err != nil {
			return err
		}
	}
	for _, f := range []string{"oci-layout", "index.json"} {
		if err := os.Rename(filepath.Join(o.tmp, f), filepath.Join(o.dir, f)); err != nil {
			return err
		}
	}
	return nil
}

// Abort removes the temporary layout.
func (o *OCI) Abort() {
	if o.tmp != "" {
		os.RemoveAll(o.tmp)
		o.tmp = ""
	}
}
