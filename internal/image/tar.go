package image

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// StoreDir is where store paths live, in the image as on the host.
const StoreDir = "/nix/store"

// layerTime is the mtime of every entry in every layer. It is what the Nix
// store itself uses, and it does not follow Spec.Created on purpose: a new
// SOURCE_DATE_EPOCH (a new commit) must not change the digest of layers
// whose content did not change, or no layer could ever be reused.
var layerTime = time.Unix(1, 0).UTC()

// tarMode converts a FileMode to the permission bits a tar header carries.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 04000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 02000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 01000
	}
	return mode
}

// header returns a tar header with the fixed fields of every entry.
func header(name string, typ byte, mode int64) *tar.Header {
	return &tar.Header{
		Name:     name,
		Typeflag: typ,
		Mode:     mode,
		ModTime:  layerTime,
		// Uid, Gid 0; Uname, Gname empty; no PAX records, no xattrs,
		// no access or change times.
	}
}

// closureSet answers whether an absolute path lies inside a store path of
// the image.
type closureSet map[string]bool

// contains reports whether p (absolute, clean) is a store path of the set or
// lies below one.
func (c closureSet) contains(p string) bool {
	rest, ok := strings.CutPrefix(p, StoreDir+"/")
	if !ok {
		return false
	}
	name, _, _ := strings.Cut(rest, "/")
	return c[StoreDir+"/"+name]
}

// checkSymlink refuses a symlink inside the store whose target resolves to
// a store path outside the closure. linkPath is the absolute path of the
// link in the image. Targets outside the store (such as /etc/ssl/certs)
// are kept: they refer to the image's own root filesystem.
func (c closureSet) checkSymlink(linkPath, target string) error {
	t := target
	if !path.IsAbs(t) {
		t = path.Join(path.Dir(linkPath), t)
	}
	t = path.Clean(t)
	if t == StoreDir || (strings.HasPrefix(t, StoreDir+"/") && !c.contains(t)) {
		return fmt.Errorf("symlink %s -> %s points into the store outside the image's closure", linkPath, target)
	}
	return nil
}

// writeLayer writes the tar of a store-path layer to w: the root entries
// it carries, if any (as writeEntries does), then the parent directories
// nix/ and nix/store/, then each store path (in sorted order) with
// everything below it, never following symlinks.
func writeLayer(w io.Writer, root string, paths []string, entries []Entry, closure closureSet) error {
	tw := tar.NewWriter(w)
	if len(entries) > 0 {
		if err := addEntries(tw, entries, closure); err != nil {
			return err
		}
	}
	if err := addStorePaths(tw, root, paths, closure); err != nil {
		return err
	}
	return tw.Close()
}

// addStorePaths adds the store paths of writeLayer to tw.
func addStorePaths(tw *tar.Writer, root string, paths []string, closure closureSet) error {
	for _, dir := range []string{"nix/", "nix/store/"} {
		if err := tw.WriteHeader(header(dir, tar.TypeDir, 0o555)); err != nil {
			return err
		}
	}
	sorted := append([]string(nil), paths...)
	sort.Strings(sorted)
	for _, p := range sorted {
		if err := checkStorePath(p); err != nil {
			return err
		}
		if err := writeTree(tw, root, p, closure); err != nil {
			return fmt.Errorf("adding %s: %w", p, err)
		}
	}
	return nil
}

// checkStorePath refuses anything but a direct child of the store.
func checkStorePath(p string) error {
	if path.Clean(p) != p || path.Dir(p) != StoreDir || len(path.Base(p)) < 34 {
		return fmt.Errorf("%q is not a store path", p)
	}
	return nil
}

// writeTree walks one store path on disk (below root) and writes every
// entry. filepath.WalkDir visits a directory before its children and the
// children in lexical order, so the output order depends only on names.
func writeTree(tw *tar.Writer, root, storePath string, closure closureSet) error {
	top := filepath.Join(root, filepath.FromSlash(storePath))
	// WalkDir follows a symlink at its root; a store path that is a
	// symlink must stay one.
	st, err := os.Lstat(top)
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(top)
		if err != nil {
			return err
		}
		if err := closure.checkSymlink(storePath, target); err != nil {
			return err
		}
		h := header(strings.TrimPrefix(storePath, "/"), tar.TypeSymlink, 0o777)
		h.Linkname = target
		return tw.WriteHeader(h)
	}
	return filepath.WalkDir(top, func(diskPath string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(top, diskPath)
		if err != nil {
			return err
		}
		imagePath := storePath
		if rel != "." {
			imagePath = storePath + "/" + filepath.ToSlash(rel)
		}
		name := strings.TrimPrefix(imagePath, "/")
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode()
		switch {
		case mode.IsDir():
			return tw.WriteHeader(header(name+"/", tar.TypeDir, tarMode(mode)))
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(diskPath)
			if err != nil {
				return err
			}
			if err := closure.checkSymlink(imagePath, target); err != nil {
				return err
			}
			h := header(name, tar.TypeSymlink, 0o777)
			h.Linkname = target
			return tw.WriteHeader(h)
		case mode.IsRegular():
			h := header(name, tar.TypeReg, tarMode(mode))
			h.Size = info.Size()
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			f, err := os.Open(diskPath)
			if err != nil {
				return err
			}
			defer f.Close()
			n, err := io.Copy(tw, f)
			if err != nil {
				return err
			}
			if n != h.Size {
				return fmt.Errorf("%s changed while being read", diskPath)
			}
			return nil
		default:
			return fmt.Errorf("%s: unsupported file type %v", imagePath, mode.Type())
		}
	})
}

// writeEntries writes the tar of the extra (root filesystem) layer. Missing
// parent directories are added with mode 0755.
func writeEntries(w io.Writer, entries []Entry, closure closureSet) error {
	tw := tar.NewWriter(w)
	if err := addEntries(tw, entries, closure); err != nil {
		return err
	}
	return tw.Close()
}

// addEntries adds what writeEntries writes to tw.
func addEntries(tw *tar.Writer, entries []Entry, closure closureSet) error {
	byName := map[string]Entry{}
	for _, e := range entries {
		p := path.Clean("/" + e.Path)
		if p == "/" {
			return fmt.Errorf("extra entry %q: the root directory cannot be an entry", e.Path)
		}
		if _, dup := byName[p]; dup {
			return fmt.Errorf("extra entry %q given twice", p)
		}
		if e.Mode&fs.ModeSymlink != 0 {
			if err := closure.checkSymlink(p, e.Target); err != nil {
				return err
			}
		}
		e.Path = p
		byName[p] = e
	}
	for p := range byName {
		for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
			if e, ok := byName[dir]; ok {
				if !e.Mode.IsDir() {
					return fmt.Errorf("extra entry %q lies below %q, which is not a directory", p, dir)
				}
				continue
			}
			byName[dir] = Entry{Path: dir, Mode: fs.ModeDir | 0o755}
		}
	}
	names := make([]string, 0, len(byName))
	for p := range byName {
		names = append(names, p)
	}
	// Sorting with "/" as the lowest byte keeps each directory right before
	// its children.
	sort.Slice(names, func(i, j int) bool {
		return strings.ReplaceAll(names[i], "/", "\x00") < strings.ReplaceAll(names[j], "/", "\x00")
	})
	for _, p := range names {
		e := byName[p]
		name := strings.TrimPrefix(p, "/")
		var h *tar.Header
		switch {
		case e.Mode.IsDir():
			h = header(name+"/", tar.TypeDir, tarMode(e.Mode))
		case e.Mode&fs.ModeSymlink != 0:
			h = header(name, tar.TypeSymlink, 0o777)
			h.Linkname = e.Target
		case e.Mode.IsRegular():
			h = header(name, tar.TypeReg, tarMode(e.Mode))
			h.Size = int64(len(e.Data))
		default:
			return fmt.Errorf("extra entry %q: unsupported file type %v", p, e.Mode.Type())
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Data); err != nil {
				return err
			}
		}
	}
	return nil
}
