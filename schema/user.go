package schema

import "github.com/hashicorp/hcl/v2"

// User is a `user "NAME"` block.
type User struct {
	Name      string
	Attrs     hcl.Attributes // uid, gid, home, groups
	DeclRange hcl.Range
}

var userSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "uid", Required: true}, {Name: "gid"}, {Name: "home"}, {Name: "groups"},
}}

func (f *File) addUser(b *hcl.Block) hcl.Diagnostics {
	c, diags := content(b.Body, userSchema)
	f.Users = append(f.Users, &User{Name: b.Labels[0], Attrs: c.Attributes, DeclRange: b.DefRange})
	return diags
}
