package output

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nix-docker/nix-docker/internal/image"
)

// Archive writes the image as a docker-archive (the `docker save`
// format) to a file, or to a stream.
type Archive struct {
	name   string    // the file; "" when writing to w
	w      io.Writer // the stream, when name is ""
	tags   []string  // RepoTags in the manifest
	tmp    string    // the temporary file Deliver wrote
	target string    // how messages name the destination
}

// NewArchive returns the output that writes the docker-archive to the
// file name, tagged tag ("" for none). Its directory must exist.
func NewArchive(name, tag string) (*Archive, error) {
	if st, err := os.Stat(filepath.Dir(name)); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", filepath.Dir(name))
	}
	return &Archive{name: name, tags: repoTags(tag), target: name}, nil
}

// NewArchiveStream returns the output that writes the docker-archive to w
// (stdout, for `-o -`). A stream cannot be taken back: what Deliver
// wrote stays written.
func NewArchiveStream(w io.Writer, tag string) *Archive {
	return &Archive{w: w, tags: repoTags(tag), target: "stdout"}
}

func repoTags(tag string) []string {
	if tag == "" {
		return nil
	}
	return []string{NormalTag(tag)}
}

func (a *Archive) Name() string          { return "docker-archive" }
func (a *Archive) NeedsBaseLayers() bool { return true }

// Deliver writes the archive: to the stream, or to a temporary file
// beside the target.
func (a *Archive) Deliver(_ context.Context, img *image.Image) (Report, error) {
	r := Report{Output: a.Name(), ImageID: img.ID(), Summary: fmt.Sprintf("wrote %s to %s", img.ID(), a.target), LayersSent: len(img.Layers)}
	if a.name == "" {
		n, err := img.WriteArchive(a.w, a.tags, nil)
		if err != nil {
			return Report{}, fmt.Errorf("writing the docker-archive: %w", err)
		}
		r.BytesSent = n
	} else {
		f, err := os.CreateTemp(filepath.Dir(a.name), "."+filepath.Base(a.name)+".tmp-*")
		if err != nil {
			return Report{}, err
		}
		n, err := img.WriteArchive(f, a.tags, nil)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(f.Name(), 0o644)
		}
		if err != nil {
			os.Remove(f.Name())
			return Report{}, fmt.Errorf("writing the docker-archive %s: %w", a.name, err)
		}
		a.tmp, r.BytesSent = f.Name(), n
	}
	r.Detail = fmt.Sprintf("%d layers, %s", r.LayersSent, ByteSize(r.BytesSent))
	return r, nil
}

// Commit renames the temporary file into place.
func (a *Archive) Commit(context.Context) error {
	if a.tmp == "" {
		return nil
	}
	if err := os.Rename(a.tmp, a.name); err != nil {
		a.Abort()
		return fmt.Errorf("writing %s: %w", a.name, err)
	}
	a.tmp = ""
	return nil
}

// Abort removes the temporary file.
func (a *Archive) Abort() {
	if a.tmp != "" {
		os.Remove(a.tmp)
		a.tmp = ""
	}
}
