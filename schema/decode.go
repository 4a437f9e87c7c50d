package schema

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// Kind tells which blocks a file may hold.
type Kind int

const (
	AppFile    Kind = iota // an app.hcl
	ModuleFile             // a module: may also declare options
)

// File is one decoded HCL file: an app file or a module file. Each block
// kind has its own file here: its struct, its schema, its decoder.
type File struct {
	Name        string
	Images      []*Image
	Services    []*Service
	Modules     []*Module
	Users       []*User
	Groups      []*Group
	Directories []*Directory
	Files       []*FileBlock
	// Locals are the locals blocks' values, in source order.
	Locals []*Local
	// Options are declared by module files only.
	Options []*Option
	// Nixpkgs pins the package set; app files only.
	Nixpkgs *Nixpkgs
	// MissingItemRange is where HCL points at something the file lacks.
	MissingItemRange hcl.Range
}

func fileSchemaFor(kind Kind) *hcl.BodySchema {
	s := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "image"},
		{Type: "service", LabelNames: []string{"name"}},
		{Type: "module", LabelNames: []string{"name"}},
		{Type: "user", LabelNames: []string{"name"}},
		{Type: "group", LabelNames: []string{"name"}},
		{Type: "directory", LabelNames: []string{"name"}},
		{Type: "file", LabelNames: []string{"name"}},
		{Type: "locals"},
	}}
	if kind == ModuleFile {
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: "option", LabelNames: []string{"name"}})
	} else {
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: "nixpkgs"})
	}
	return s
}

// Parse parses and decodes one file's source. The parser keeps the file
// for diagnostics rendering.
func Parse(p *Parser, src []byte, filename string, kind Kind) (*File, hcl.Diagnostics) {
	f, diags := p.parse(src, filename)
	if diags.HasErrors() {
		return nil, diags
	}
	out, more := Decode(f.Body, filename, kind)
	return out, append(diags, more...)
}

// Decode decodes a parsed body: each block by its kind's decoder, names
// checked and unique per kind.
func Decode(body hcl.Body, filename string, kind Kind) (*File, hcl.Diagnostics) {
	top, diags := body.Content(fileSchemaFor(kind))
	out := &File{Name: filename, MissingItemRange: body.MissingItemRange()}
	seen := map[string]hcl.Range{}
	for _, b := range top.Blocks {
		var d hcl.Diagnostics
		if b.Type == "locals" {
			diags = append(diags, out.addLocals(b, seen)...)
			continue
		}
		switch b.Type {
		case "image", "nixpkgs":
			if prev, dup := seen[b.Type]; dup {
				diags = append(diags, duplicateSingleton(b, prev))
				continue
			}
			seen[b.Type] = b.DefRange
		default:
			diags = append(diags, checkName(b.Type, b)...)
			key := b.Type + "\x00" + b.Labels[0]
			if prev, dup := seen[key]; dup {
				diags = append(diags, duplicateName(b, prev))
				continue
			}
			seen[key] = b.DefRange
		}
		switch b.Type {
		case "image":
			d = out.addImage(b)
		case "service":
			d = out.addService(b)
		case "module":
			d = out.addModule(b)
		case "user":
			d = out.addUser(b)
		case "group":
			d = out.addGroup(b)
		case "directory":
			d = out.addDirectory(b)
		case "file":
			d = out.addFile(b)
		case "option":
			d = out.addOption(b)
		case "nixpkgs":
			d = out.addNixpkgs(b)
		}
		diags = append(diags, d...)
	}
	return out, diags
}

// duplicateName reports a second block of one kind with one name.
func duplicateName(b *hcl.Block, prev hcl.Range) *hcl.Diagnostic {
	kind, name := b.Type, b.Labels[0]
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s %q", kind, name),
		Detail:   fmt.Sprintf("A %s named %q was already declared at %s. Names must be unique; rename one of them.", kind, name, prev),
		Subject:  b.LabelRanges[0].Ptr(),
	}
}

// duplicateSingleton reports a second block of a kind a file has once.
func duplicateSingleton(b *hcl.Block, prev hcl.Range) *hcl.Diagnostic {
	detail := fmt.Sprintf("An image block was already declared at %s; put all image settings in one block.", prev)
	if b.Type == "nixpkgs" {
		detail = fmt.Sprintf("The package set is already pinned at %s.", prev)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s block", b.Type),
		Detail:   detail,
		Subject:  b.DefRange.Ptr(),
	}
}

// checkName refuses a label that breaks the name rule (see CheckName).
func checkName(kind string, b *hcl.Block) hcl.Diagnostics {
	if err := CheckName(kind, b.Labels[0]); err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Invalid %s name", kind),
			Detail:   err.Error(),
			Subject:  b.LabelRanges[0].Ptr(),
		}}
	}
	return nil
}

// content decodes a block body. When an argument is misspelled, HCL also
// reports the required argument as missing; the first message (with its
// "Did you mean") says it all, so the second is dropped.
func content(body hcl.Body, s *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	c, diags := body.Content(s)
	unsupported := false
	for _, d := range diags {
		unsupported = unsupported || d.Summary == "Unsupported argument"
	}
	if !unsupported {
		return c, diags
	}
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Summary != "Missing required argument" {
			out = append(out, d)
		}
	}
	return c, out
}
