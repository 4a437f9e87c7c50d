package project

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/nix-docker/nix-docker/internal/runspec"
)

// Project is everything one image is made of, ready to render.
type Project struct {
	// File is the app file, as given; Dir is its absolute directory.
	File string
	Dir  string

	Services    []Service
	Users       []runspec.User
	Groups      []runspec.Group
	Directories []runspec.Directory
	Files       []File
	Ports       []int
	Volumes     []string
	Env         []EnvVar
	// Links are symlinks at the image's root, path -> target (which may
	// hold placeholders), such as /bin/sh for programs that popen().
	Links []Link
	// Nixpkgs is the pinned package set, if the app file pins one.
	Nixpkgs *Pin
	// Warnings are the non-fatal diagnostics of the load.
	Warnings hcl.Diagnostics

	refs  []Ref
	nonce string
}

// RefKind says what a placeholder stands for.
type RefKind int

const (
	PkgRef  RefKind = iota // a package attribute: Attr
	PathRef                // a file or directory beside an HCL file: Path
	FileRef                // a generated file: File (a File.Key)
	NixRef                 // a raw Nix expression: Expr
)

// Ref is what one placeholder stands for.
type Ref struct {
	Kind RefKind
	Attr []string // PkgRef: the attribute path below pkgs
	Path string   // PathRef: absolute path on the host
	File string   // FileRef: File.Key
	Expr string   // NixRef: Nix source
}

// Part is a piece of a string: a literal, or a reference.
type Part struct {
	Lit string
	Ref *Ref
}

const (
	markOpen  = "\uE000"
	markClose = "\uE001"
)

func newNonce() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// placeholder returns the string that stands for r inside evaluated
// values. The nonce is random per run, so no user-written string can
// forge one; it never reaches any output.
func (p *Project) placeholder(r Ref) string {
	for i, have := range p.refs {
		if have.Kind == r.Kind && have.Path == r.Path && have.File == r.File && have.Expr == r.Expr && strings.Join(have.Attr, "\x00") == strings.Join(r.Attr, "\x00") && len(have.Attr) == len(r.Attr) {
			return p.mark(i)
		}
	}
	p.refs = append(p.refs, r)
	return p.mark(len(p.refs) - 1)
}

func (p *Project) mark(i int) string {
	return markOpen + p.nonce + "#" + strconv.Itoa(i) + markClose
}

// Split cuts s into literals and references.
func (p *Project) Split(s string) []Part {
	var parts []Part
	prefix := markOpen + p.nonce + "#"
	for {
		i := strings.Index(s, prefix)
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], markClose)
		if j < 0 {
			break
		}
		n, err := strconv.Atoi(s[i+len(prefix) : i+j])
		if err != nil || n < 0 || n >= len(p.refs) {
			break
		}
		if i > 0 {
			parts = append(parts, Part{Lit: s[:i]})
		}
		parts = append(parts, Part{Ref: &p.refs[n]})
		s = s[i+j+len(markClose):]
	}
	if s != "" || len(parts) == 0 {
		parts = append(parts, Part{Lit: s})
	}
	return parts
}

// Refs returns every reference the project uses, in first-use order.
func (p *Project) Refs() []Ref { return p.refs }

// HasRefs tells whether s holds any placeholder.
func (p *Project) HasRefs(s string) bool {
	return strings.Contains(s, markOpen+p.nonce+"#")
}

// Spec returns the runspec of the project. Its strings still hold
// placeholders: internal/nixexpr renders them.
func (p *Project) Spec() *runspec.Spec {
	sp := &runspec.Spec{Version: runspec.Version, Users: p.Users, Groups: p.Groups, Directories: p.Directories}
	for _, s := range p.Services {
		sp.Services = append(sp.Services, s.Service)
	}
	sp.ApplyDefaults()
	return sp
}

// Service returns the named service, or nil.
func (p *Project) Service(name string) *Service {
	for i := range p.Services {
		if p.Services[i].Name == name {
			return &p.Services[i]
		}
	}
	return nil
}

func (r Ref) String() string {
	switch r.Kind {
	case PkgRef:
		return "pkgs." + strings.Join(r.Attr, ".")
	case PathRef:
		return fmt.Sprintf("path(%q)", r.Path)
	case NixRef:
		return fmt.Sprintf("nix(%q)", r.Expr)
	default:
		return "file." + r.File
	}
}
