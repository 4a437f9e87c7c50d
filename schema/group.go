package schema

import "github.com/hashicorp/hcl/v2"

// Group is a `group "NAME"` block.
type Group struct {
	Name      string
	Attrs     hcl.Attributes // gid
	DeclRange hcl.Range
}

var groupSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "gid", Required: true},
}}

func (f *File) addGroup(b *hcl.Block) hcl.Diagnostics {
	c, diags := content(b.Body, groupSchema)
	f.Groups = append(f.Groups, &Group{Name: b.Labels[0], Attrs: c.Attributes, DeclRange: b.DefRange})
	return diags
}
