package initsrc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	nixdocker "github.com/nix-docker/nix-docker"
	"github.com/nix-docker/nix-docker/internal/cachedir"
)

// GoVersion is the go line of the carried module: the oldest Go that
// builds the init (nixpkgs' go has been at least this since NixOS 24.11).
// It is also the language version the init is compiled at, and so the
// source of its GODEBUG defaults; 1.23 is the first with the timer
// channels the init is tested with. `go vet` of the carried module
// (stdversion) fails on library calls newer than this.
const GoVersion = "1.23"

// Module is the carried module's path: the main module's, so the init's
// import paths stay as they are.
const Module = "github.com/nix-docker/nix-docker"

// GoMod is the carried module's go.mod. The init needs nothing but the
// standard library, so it has no requirements and no go.sum.
const GoMod = "module " + Module + "\n\ngo " + GoVersion + "\n"

// Package is the init's main package, relative to the carried module.
const Package = "./init"

// Files returns the carried source: go.mod and every non-test Go file,
// by slash-separated path relative to the module root.
func Files() (map[string][]byte, error) {
	files := map[string][]byte{"go.mod": []byte(GoMod)}
	err := fs.WalkDir(nixdocker.InitSource, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := fs.ReadFile(nixdocker.InitSource, p)
		files[p] = b
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the init's embedded source: %w", err)
	}
	return files, nil
}

// Hash names a set of files: the hex SHA-256 of their paths and contents,
// in path order.
func Hash(files map[string][]byte) string {
	h := sha256.New()
	for _, p := range sortedPaths(files) {
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(files[p]))
		h.Write(files[p])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sortedPaths(files map[string][]byte) []string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// DefaultDir is where Write puts the source by default: init-src in
// nix-docker's cache root (cachedir.Root: nix-docker in $XDG_CACHE_HOME or
// ~/.cache on Linux, else a directory of this user's own in the temporary
// directory).
func DefaultDir() (string, error) {
	dir, err := cachedir.Root()
	if err != nil {
		return "", fmt.Errorf("finding the cache directory for the init's source: %w", err)
	}
	return filepath.Join(dir, "init-src"), nil
}

// Write makes sure dir/HASH holds exactly the carried source and returns
// that directory. One already there with that content is kept; one with
// any other content (a file edited, added or removed) is replaced. The
// files appear all at once (written beside it, then renamed).
func Write(dir string) (string, error) {
	files, err := Files()
	if err != nil {
		return "", err
	}
	final := filepath.Join(dir, Hash(files)[:32])
	if same(final, files) {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("writing the init's source: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-")
	if err != nil {
		return "", fmt.Errorf("writing the init's source: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	for _, p := range sortedPaths(files) {
		f := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return "", fmt.Errorf("writing the init's source: %w", err)
		}
		if err := os.WriteFile(f, files[p], 0o644); err != nil {
			return "", fmt.Errorf("writing the init's source: %w", err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another nix-docker may have written it meanwhile; else a
		// damaged copy is in the way.
		if same(final, files) {
			return final, nil
		}
		if err := os.RemoveAll(final); err != nil {
			return "", fmt.Errorf("replacing %s: %w", final, err)
		}
		if err := os.Rename(tmp, final); err != nil {
			return "", fmt.Errorf("writing the init's source: %w", err)
		}
	}
	return final, nil
}

// same tells whether dir holds exactly files: the same paths, the same
// contents, nothing else.
func same(dir string, files map[string][]byte) bool {
	seen := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		want, ok := files[filepath.ToSlash(rel)]
		if !ok || !d.Type().IsRegular() {
			return errors.New("unexpected file")
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			return errors.New("changed file")
		}
		seen++
		return nil
	})
	return err == nil && seen == len(files)
}
