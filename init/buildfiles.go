package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// fileEntry is one file that build-files writes under $out.
type fileEntry struct {
	// Path is relative to $out; "" means $out itself is the file.
	Path string `json:"path"`
	// From names an environment variable holding the path of the file to
	// copy (Nix's passAsFile gives e.g. runspecPath).
	From string `json:"from,omitempty"`
	// Link makes a symlink to this target instead.
	Link string `json:"link,omitempty"`
	// Mode is the permission, 0644 (420) when unset.
	Mode uint32 `json:"mode,omitempty"`
	// Check is reserved for a later content check; it is accepted and
	// not yet acted on.
	Check json.RawMessage `json:"check,omitempty"`
}

// buildFiles is the Nix builder mode: it writes the entries (a JSON array
// in $entries) into out. Parent directories are made 0555, as in the store.
func buildFiles(out, entriesJSON string, getenv func(string) string) error {
	if out == "" {
		return errors.New("$out is not set")
	}
	if entriesJSON == "" {
		return errors.New("$entries is not set")
	}
	var entries []fileEntry
	dec := json.NewDecoder(strings.NewReader(entriesJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entries); err != nil {
		return fmt.Errorf("$entries: %w", err)
	}
	var dirs []string
	for i, e := range entries {
		if err := writeEntry(out, e, getenv, &dirs); err != nil {
			return fmt.Errorf("entry %d (%q): %w", i, e.Path, err)
		}
	}
	// Directories last and deepest first, so that writing into them
	// above never met a read-only parent.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i], 0o555); err != nil {
			return err
		}
	}
	return nil
}

func writeEntry(out string, e fileEntry, getenv func(string) string, dirs *[]string) error {
	if (e.From == "") == (e.Link == "") {
		return errors.New("needs exactly one of from and link")
	}
	dst := out
	if e.Path != "" {
		clean := filepath.Clean(e.Path)
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || clean == "." {
			return errors.New("path must be relative and stay inside $out")
		}
		dst = filepath.Join(out, clean)
		if err := mkdirs(out, filepath.Dir(clean), dirs); err != nil {
			return err
		}
	}
	if e.Link != "" {
		return os.Symlink(e.Link, dst)
	}
	src := getenv(e.From)
	if src == "" {
		return fmt.Errorf("environment variable %s (from) is not set", e.From)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	mode := os.FileMode(e.Mode)
	if e.Mode == 0 {
		mode = 0o644
	}
	if e.Mode&^0o777 != 0 {
		return fmt.Errorf("mode %o has bits other than permissions", e.Mode)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// mkdirs creates rel and its parents under out, remembering each new one.
func mkdirs(out, rel string, dirs *[]string) error {
	if rel == "." {
		if _, err := os.Stat(out); os.IsNotExist(err) {
			if err := os.Mkdir(out, 0o755); err != nil {
				return err
			}
			*dirs = append(*dirs, out)
		}
		return nil
	}
	if err := mkdirs(out, filepath.Dir(rel), dirs); err != nil {
		return err
	}
	p := filepath.Join(out, rel)
	fi, err := os.Lstat(p)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", rel)
		}
		return nil
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		return err
	}
	*dirs = append(*dirs, p)
	return nil
}
