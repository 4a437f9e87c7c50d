package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/nix-docker/nix-docker/internal/image"
)

// Archive writes the image as a docker-archive (the `docker save`
// format) to a file, or to a stream.
type Archive struct {
	name    string    // the file; "" when writing to w
	inPlace bool      // name is a character device or a FIFO: written where it is
	w       io.Writer // the stream, when name is ""
	tags    []string  // RepoTags in the manifest
	tmp     string    // the temporary file Deliver wrote
	target  string    // how messages name the destination
}

// NewArchive returns the output that writes the docker-archive to the
// file name, tagged tag ("" for none). A new path or a regular file is
// written beside it and renamed over it on Commit, so a failed build
// leaves it as it was; a character device (/dev/null) or a FIFO is
// written in place, as a stream, and never replaced. A symbolic link is
// refused: nix-docker does not write through links (a link planted where
// root writes would redirect the write). Its directory must exist.
func NewArchive(name, tag string) (*Archive, error) {
	a := &Archive{name: name, tags: repoTags(tag), target: name}
	st, err := os.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case st.Mode().IsRegular():
	case st.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(name)
		return nil, fmt.Errorf("%s is a symbolic link (to %s): give -o the file itself; nix-docker does not write through links", name, target)
	case st.Mode()&(fs.ModeCharDevice|fs.ModeNamedPipe) != 0:
		a.inPlace = true
		return a, nil
	case st.IsDir():
		return nil, fmt.Errorf("%s is a directory: give -o a file (--oci DIR writes an OCI layout)", name)
	default:
		return nil, fmt.Errorf("%s is a %s: -o writes a regular file, a character device such as /dev/null, or a FIFO", name, kindOf(st.Mode()))
	}
	if st, err := os.Stat(filepath.Dir(name)); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", filepath.Dir(name))
	}
	return a, nil
}

// kindOf names a file type for messages.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
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

// Deliver writes the archive: to the stream or the device, or to a
// temporary file beside the target.
func (a *Archive) Deliver(_ context.Context, img *image.Image) (Report, error) {
	r := Report{Output: a.Name(), ImageID: img.ID(), Summary: fmt.Sprintf("wrote %s to %s", img.ID(), a.target), LayersSent: len(img.Layers)}
	var err error
	switch {
	case a.name == "":
		r.BytesSent, err = img.WriteArchive(a.w, a.tags, nil)
		if err != nil {
			return Report{}, fmt.Errorf("writing the docker-archive: %w", err)
		}
	case a.inPlace:
		r.BytesSent, err = a.writeInPlace(img)
	default:
		r.BytesSent, err = a.writeTemp(img)
	}
	if err != nil {
		return Report{}, err
	}
	r.Detail = fmt.Sprintf("%d layers, %s", r.LayersSent, ByteSize(r.BytesSent))
	return r, nil
}

// writeInPlace writes the archive into the device or FIFO itself,
// opened without following a link or creating anything, and checked to
// be what NewArchive found.
func (a *Archive) writeInPlace(img *image.Image) (int64, error) {
	f, err := os.OpenFile(a.name, os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_NOCTTY, 0)
	if err != nil {
		return 0, fmt.Errorf("writing the docker-archive to %s: %w", a.name, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Mode()&(fs.ModeCharDevice|fs.ModeNamedPipe) == 0 {
		return 0, fmt.Errorf("writing the docker-archive to %s: it is no longer a device or a FIFO", a.name)
	}
	n, err := img.WriteArchive(f, a.tags, nil)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("writing the docker-archive to %s: %w", a.name, err)
	}
	return n, nil
}

// writeTemp writes the archive to a temporary file beside the target,
// which Commit renames over it.
func (a *Archive) writeTemp(img *image.Image) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(a.name), "."+filepath.Base(a.name)+".tmp-*")
	if err != nil {
		return 0, err
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
		return 0, fmt.Errorf("writing the docker-archive %s: %w", a.name, err)
	}
	a.tmp = f.Name()
	return n, nil
}

// Commit renames the temporary file into place, after checking again
// that the target is still a regular file or absent: a device, a FIFO or
// a link that appeared meanwhile is never replaced.
func (a *Archive) Commit(context.Context) error {
	if a.tmp == "" {
		return nil
	}
	if st, err := os.Lstat(a.name); err == nil && !st.Mode().IsRegular() {
		a.Abort()
		return fmt.Errorf("writing %s: it is no longer a regular file; nothing was replaced", a.name)
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
