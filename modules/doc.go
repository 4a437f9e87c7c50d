// Package modules holds nix-docker's built-in modules, one HCL file each
// (redis.hcl, httpd.hcl, ...), embedded in the binary. A module declares
// typed options and contributes services, files, users, directories and
// image settings; internal/project expands it.
package modules

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.hcl
var files embed.FS

// Names returns the names of the built-in modules, sorted.
func Names() []string {
	ents, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".hcl"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Source returns a built-in module's source, and whether it exists.
func Source(name string) ([]byte, bool) {
	b, err := fs.ReadFile(files, name+".hcl")
	return b, err == nil
}
