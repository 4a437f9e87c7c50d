package schema

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Kind tells which blocks a file may hold.
type Kind int

const (
	AppFile    Kind = iota // an app.hcl
	ModuleFile             // a module: may also declare options
)

var serviceAttributes = []hcl.AttributeSchema{
	{Name: "command", Required: true},
	{Name: "environment"},
	{Name: "directory"},
	{Name: "user"},
	{Name: "after"},
	{Name: "autorestart"},
	{Name: "startsecs"},
	{Name: "startretries"},
	{Name: "exitcodes"},
	{Name: "stopsignal"},
	{Name: "stopwaitsecs"},
	{Name: "stopasgroup"},
	{Name: "killasgroup"},
	{Name: "oneshot"},
	{Name: "critical"},
	{Name: "signals"},
}

var (
	imageSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "ports"}, {Name: "volumes"}, {Name: "env"}, {Name: "links"},
	}}
	serviceSchema = &hcl.BodySchema{
		Attributes: serviceAttributes,
		Blocks:     []hcl.BlockHeaderSchema{{Type: "ready"}},
	}
	readySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "tcp"}, {Name: "command"}, {Name: "timeout"},
	}}
	userSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "uid", Required: true}, {Name: "gid"}, {Name: "home"}, {Name: "groups"},
	}}
	groupSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "gid", Required: true},
	}}
	directorySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "path", Required: true}, {Name: "user"}, {Name: "group"}, {Name: "mode"},
	}}
	fileSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "text", Required: true}, {Name: "name"}, {Name: "executable"}, {Name: "check"},
	}}
	optionSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
	}
	validationSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true}, {Name: "error_message", Required: true},
	}}
	nixpkgsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "path"}, {Name: "url"}, {Name: "sha256"},
	}}
)

func fileSchemaFor(kind Kind) *hcl.BodySchema {
	s := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "image"},
		{Type: "service", LabelNames: []string{"name"}},
		{Type: "module", LabelNames: []string{"name"}},
		{Type: "user", LabelNames: []string{"name"}},
		{Type: "group", LabelNames: []string{"name"}},
		{Type: "directory", LabelNames: []string{"name"}},
		{Type: "file", LabelNames: []string{"name"}},
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

// Decode decodes a parsed body.
func Decode(body hcl.Body, filename string, kind Kind) (*File, hcl.Diagnostics) {
	top, diags := body.Content(fileSchemaFor(kind))
	out := &File{Name: filename}
	seen := map[string]hcl.Range{}
	dup := func(kind, name string, b *hcl.Block) bool {
		key := kind + "\x00" + name
		if prev, ok := seen[key]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Duplicate %s %q", kind, name),
				Detail:   fmt.Sprintf("A %s named %q was already declared at %s. Names must be unique; rename one of them.", kind, name, prev),
				Subject:  b.LabelRanges[0].Ptr(),
			})
			return true
		}
		seen[key] = b.DefRange
		return false
	}
	for _, b := range top.Blocks {
		switch b.Type {
		case "image":
			if prev, ok := seen["image"]; ok {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate image block",
					Detail:   fmt.Sprintf("An image block was already declared at %s; put all image settings in one block.", prev),
					Subject:  b.DefRange.Ptr(),
				})
				continue
			}
			seen["image"] = b.DefRange
			c, d := content(b.Body, imageSchema)
			diags = append(diags, d...)
			img := &Image{DeclRange: b.DefRange}
			if a := c.Attributes["ports"]; a != nil {
				img.Ports = a.Expr
			}
			if a := c.Attributes["volumes"]; a != nil {
				img.Volumes = a.Expr
			}
			if a := c.Attributes["env"]; a != nil {
				img.Env = a.Expr
			}
			if a := c.Attributes["links"]; a != nil {
				img.Links = a.Expr
			}
			out.Images = append(out.Images, img)
		case "service":
			diags = append(diags, checkName("service", b)...)
			if dup("service", b.Labels[0], b) {
				continue
			}
			c, d := content(b.Body, serviceSchema)
			diags = append(diags, d...)
			s := &Service{Name: b.Labels[0], Attrs: c.Attributes, DeclRange: b.DefRange, NameRange: b.LabelRanges[0]}
			for _, rb := range c.Blocks {
				if s.Ready != nil {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Duplicate ready block",
						Detail:   "A service has at most one ready block.",
						Subject:  rb.DefRange.Ptr(),
					})
					continue
				}
				rc, d := content(rb.Body, readySchema)
				diags = append(diags, d...)
				s.Ready = &Ready{Attrs: rc.Attributes, DeclRange: rb.DefRange}
			}
			out.Services = append(out.Services, s)
		case "module":
			diags = append(diags, checkName("module", b)...)
			if dup("module", b.Labels[0], b) {
				continue
			}
			attrs, d := b.Body.JustAttributes()
			diags = append(diags, d...)
			m := &Module{Name: b.Labels[0], Options: hcl.Attributes{}, DeclRange: b.DefRange, NameRange: b.LabelRanges[0]}
			for name, a := range attrs {
				switch name {
				case "source":
					m.Source = a.Expr
					continue
				case "after":
					m.After = a.Expr
					continue
				}
				m.Options[name] = a
			}
			out.Modules = append(out.Modules, m)
		case "user":
			if dup("user", b.Labels[0], b) {
				continue
			}
			c, d := content(b.Body, userSchema)
			diags = append(diags, d...)
			out.Users = append(out.Users, &User{Name: b.Labels[0], Attrs: c.Attributes, DeclRange: b.DefRange})
		case "group":
			if dup("group", b.Labels[0], b) {
				continue
			}
			c, d := content(b.Body, groupSchema)
			diags = append(diags, d...)
			out.Groups = append(out.Groups, &Group{Name: b.Labels[0], Attrs: c.Attributes, DeclRange: b.DefRange})
		case "directory":
			diags = append(diags, checkName("directory", b)...)
			if dup("directory", b.Labels[0], b) {
				continue
			}
			c, d := content(b.Body, directorySchema)
			diags = append(diags, d...)
			out.Directories = append(out.Directories, &Directory{Name: b.Labels[0], Attrs: c.Attributes, DeclRange: b.DefRange})
		case "file":
			diags = append(diags, checkName("file", b)...)
			if dup("file", b.Labels[0], b) {
				continue
			}
			c, d := content(b.Body, fileSchema)
			diags = append(diags, d...)
			out.Files = append(out.Files, &FileBlock{Name: b.Labels[0], Attrs: c.Attributes, DeclRange: b.DefRange})
		case "option":
			diags = append(diags, checkName("option", b)...)
			if dup("option", b.Labels[0], b) {
				continue
			}
			c, d := content(b.Body, optionSchema)
			diags = append(diags, d...)
			o := &Option{Name: b.Labels[0], DeclRange: b.DefRange}
			if a := c.Attributes["type"]; a != nil {
				o.Type = a.Expr
			}
			if a := c.Attributes["default"]; a != nil {
				o.Default = a.Expr
			}
			if a := c.Attributes["description"]; a != nil {
				v, d := a.Expr.Value(nil)
				diags = append(diags, d...)
				if !d.HasErrors() {
					if v.Type() != cty.String || v.IsNull() {
						diags = append(diags, &hcl.Diagnostic{
							Severity: hcl.DiagError,
							Summary:  "Invalid option description",
							Detail:   "An option's description is a literal string.",
							Subject:  a.Expr.Range().Ptr(),
						})
					} else {
						o.Description = v.AsString()
					}
				}
			}
			for _, vb := range c.Blocks {
				vc, d := content(vb.Body, validationSchema)
				diags = append(diags, d...)
				if vc.Attributes["condition"] != nil && vc.Attributes["error_message"] != nil {
					o.Validations = append(o.Validations, &Validation{
						Condition:    vc.Attributes["condition"].Expr,
						ErrorMessage: vc.Attributes["error_message"].Expr,
						DeclRange:    vb.DefRange,
					})
				}
			}
			out.Options = append(out.Options, o)
		case "nixpkgs":
			if out.Nixpkgs != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate nixpkgs block",
					Detail:   fmt.Sprintf("The package set is already pinned at %s.", out.Nixpkgs.DeclRange),
					Subject:  b.DefRange.Ptr(),
				})
				continue
			}
			c, d := content(b.Body, nixpkgsSchema)
			diags = append(diags, d...)
			out.Nixpkgs = &Nixpkgs{Attrs: c.Attributes, DeclRange: b.DefRange}
		}
	}
	return out, diags
}

// checkName refuses labels that cannot serve as names of services,
// modules, files or options (they become service names, log prefixes and
// parts of store path names).
func checkName(kind string, b *hcl.Block) hcl.Diagnostics {
	name := b.Labels[0]
	if hclsyntax.ValidIdentifier(name) && !strings.Contains(name, "--") {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid %s name", kind),
		Detail:   fmt.Sprintf("A %s name starts with a letter and holds only letters, digits, underscores and dashes; %q does not.", kind, name),
		Subject:  b.LabelRanges[0].Ptr(),
	}}
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
