package schema

import "github.com/hashicorp/hcl/v2"

// FileBlock is a `file "NAME"` block: a generated file in the store.
type FileBlock struct {
	Name      string
	Attrs     hcl.Attributes // text, name, executable, check
	DeclRange hcl.Range
}

var fileSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "text", Required: true}, {Name: "name"}, {Name: "executable"}, {Name: "check"},
}}

func (f *File) addFile(b *hcl.Block) hcl.Diagnostics {
	c, diags := content(b.Body, fileSchema)
	f.Files = append(f.Files, &FileBlock{Name: b.Labels[0], Attrs: c.Attributes, DeclRange: b.DefRange})
	return diags
}
