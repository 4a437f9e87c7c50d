package schema

import "github.com/hashicorp/hcl/v2"

// Image is the `image` block: the image-level settings.
type Image struct {
	Ports     hcl.Expression // list(number)
	Volumes   hcl.Expression // list(string)
	Env       hcl.Expression // map(string)
	Links     hcl.Expression // map(string): absolute path in the image -> symlink target
	DeclRange hcl.Range
}

var imageSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "ports"}, {Name: "volumes"}, {Name: "env"}, {Name: "links"},
}}

func (f *File) addImage(b *hcl.Block) hcl.Diagnostics {
	c, diags := content(b.Body, imageSchema)
	img := &Image{DeclRange: b.DefRange}
	for name, e := range map[string]*hcl.Expression{"ports": &img.Ports, "volumes": &img.Volumes, "env": &img.Env, "links": &img.Links} {
		if a := c.Attributes[name]; a != nil {
			*e = a.Expr
		}
	}
	f.Images = append(f.Images, img)
	return diags
}
