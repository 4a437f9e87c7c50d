package project

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

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
	// Modules are the module instances, in the order they were expanded.
	Modules []ModuleInstance
	// Nixpkgs is the pinned package set, if the app file pins one.
	Nixpkgs *Pin
	// Warnings are the non-fatal diagnostics of the load.
	Warnings hcl.Diagnostics

	refs  []Ref
	nonce string
}

// ModuleInstance is one module block: the instance's name, the module's
// source ("builtin:node", or a file's path) and the block's range, where
// a failed build of what the instance contributes is reported.
type ModuleInstance struct {
	Name      string
	Source    string
	DeclRange hcl.Range
}

// Module returns the named module instance, or nil.
func (p *Project) Module(name string) *ModuleInstance {
	for i := range p.Modules {
		if p.Modules[i].Name == name {
			return &p.Modules[i]
		}
	}
	return nil
}

// RefKind says what a placeholder stands for.
type RefKind int

const (
	PkgRef    RefKind = iota // a package attribute: Attr
	PathRef                  // a file or directory beside an HCL file: Path
	FileRef                  // a generated file: File (a File.Key)
	NixRef                   // a raw Nix expression: Expr
	SystemRef                // the Nix system the expression is built for, such as "x86_64-linux"
)

// Ref is what one placeholder stands for.
type Ref struct {
	Kind RefKind
	Attr []string // PkgRef: the attribute path below pkgs
	Path string   // PathRef: absolute path on the host
	// Exclude are, for a PathRef to a directory, the absolute paths under
	// it the copy leaves out (.git, what IgnoreFile lists), sorted.
	Exclude []string
	File    string // FileRef: File.Key
	Expr    string // NixRef: Nix source
	// Args are a NixRef's bindings (an object value; cty.NilVal for
	// none): nix(EXPR, { name = value }) evaluates EXPR with each name
	// bound to its value. Strings in them may hold placeholders.
	Args cty.Value
}

// same tells whether two references stand for the same thing.
func (r Ref) same(o Ref) bool {
	if r.Kind != o.Kind || r.Path != o.Path || r.File != o.File || r.Expr != o.Expr || !slices.Equal(r.Attr, o.Attr) {
		return false
	}
	if r.Args == cty.NilVal || o.Args == cty.NilVal {
		return r.Args == cty.NilVal && o.Args == cty.NilVal
	}
	return r.Args.RawEquals(o.Args)
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
		if have.same(r) {
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

// System returns a string standing for the Nix system the expression is
// built for (builtins.currentSystem), which the image config's
// architecture and OS come from.
func (p *Project) System() string { return p.placeholder(Ref{Kind: SystemRef}) }

// FromApp returns placeholders for the nix() expressions built from the
// app's own files: those whose bindings hold a path() value, directly or
// through another nix() expression, in first-use order.
func (p *Project) FromApp() []string {
	var out []string
	for i := range p.refs {
		if p.refs[i].Kind == NixRef && p.usesPath(p.refs[i].Args, 0) {
			out = append(out, p.mark(i))
		}
	}
	return out
}

// usesPath tells whether a nix() binding value refers to a path() value.
func (p *Project) usesPath(v cty.Value, depth int) bool {
	if v == cty.NilVal || v.IsNull() || depth > len(p.refs) {
		return false
	}
	found := false
	cty.Walk(v, func(_ cty.Path, e cty.Value) (bool, error) {
		if found || e.IsNull() || e.Type() != cty.String {
			return !found, nil
		}
		for _, part := range p.Split(e.AsString()) {
			switch {
			case part.Ref == nil:
			case part.Ref.Kind == PathRef:
				found = true
			case part.Ref.Kind == NixRef:
				found = found || p.usesPath(part.Ref.Args, depth+1)
			}
		}
		return !found, nil
	})
	return found
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
	case SystemRef:
		return "builtins.currentSystem"
	default:
		return "file." + r.File
	}
}
