package schema

import "github.com/hashicorp/hcl/v2"

// Directory is a `directory "NAME"` block: a directory the init creates,
// with its owner and mode, before any service starts.
type Directory struct {
	Name      string
	Attrs     hcl.Attributes // path, user, group, mode
	DeclRange hcl.Range
}

var directorySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "path", Required: true}, {Name: "user"}, {Name: "group"}, {Name: "mode"},
}}

func (f *File) addDirectory(b *hcl.Block) hcl.Diagnostics {
	c, diags := content(b.Body, directorySchema)
	f.Directories = append(f.Directories, &Directory{Name: b.Labels[0], Attrs: c.Attributes, DeclRange: b.DefRange})
	return diags
}
