package schema

import "github.com/hashicorp/hcl/v2"

// Nixpkgs is the `nixpkgs` block: the package set pinned by the file.
type Nixpkgs struct {
	Attrs     hcl.Attributes // path, or url and sha256
	DeclRange hcl.Range
}

var nixpkgsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "path"}, {Name: "url"}, {Name: "sha256"},
}}

func (f *File) addNixpkgs(b *hcl.Block) hcl.Diagnostics {
	c, diags := content(b.Body, nixpkgsSchema)
	f.Nixpkgs = &Nixpkgs{Attrs: c.Attributes, DeclRange: b.DefRange}
	return diags
}
