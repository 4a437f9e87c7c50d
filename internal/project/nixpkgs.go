package project

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/nix-docker/nix-docker/schema"
)

// Pin is a pinned package set: a local path, or a tarball URL with its
// hash.
type Pin struct {
	Path   string // absolute
	URL    string
	SHA256 string
}

// String describes the pin for labels and messages.
func (p *Pin) String() string {
	if p.Path != "" {
		return p.Path
	}
	return p.URL + "#sha256=" + p.SHA256
}

// addNixpkgs reads the pinned package set.
func (l *loader) addNixpkgs(sc *scope, n *schema.Nixpkgs) {
	pin := &Pin{}
	p, pa, hasPath := l.str(sc, n.Attrs, "path")
	u, ua, hasURL := l.str(sc, n.Attrs, "url")
	h, _, hasHash := l.str(sc, n.Attrs, "sha256")
	switch {
	case hasPath && (hasURL || hasHash):
		l.errorf(n.DeclRange, "Conflicting nixpkgs pin", "Pin the package set either by path, or by url and sha256, not both.")
		return
	case hasPath:
		if l.proj.HasRefs(p) {
			l.errorf(pa.Expr.Range(), "Invalid nixpkgs path", "The nixpkgs path is a plain path, relative to the HCL file or absolute.")
			return
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(sc.dir, p)
		}
		if _, err := os.Stat(p); err != nil {
			l.errorf(pa.Expr.Range(), "Package set not found", "%s does not exist.", p)
			return
		}
		pin.Path = p
	case hasURL && hasHash:
		if !strings.Contains(u, "://") || l.proj.HasRefs(u) || l.proj.HasRefs(h) {
			l.errorf(ua.Expr.Range(), "Invalid nixpkgs url", "A nixpkgs url points at a tarball, such as \"https://github.com/NixOS/nixpkgs/archive/<commit>.tar.gz\".")
			return
		}
		pin.URL, pin.SHA256 = u, h
	case hasURL && n.Attrs["sha256"] != nil:
		return // the sha256 is reported
	case hasURL:
		l.errorf(n.DeclRange, "Missing sha256", "A nixpkgs url needs its sha256, so the build stays reproducible (nix-prefetch-url --unpack URL prints it).")
		return
	default:
		l.errorf(n.DeclRange, "Empty nixpkgs block", "Pin the package set with path = \"...\", or with url and sha256.")
		return
	}
	l.proj.Nixpkgs = pin
}

// validate runs an option's validation blocks against its value; errors
// point at the value (or the module block, for a default).
