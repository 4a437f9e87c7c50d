package schema

import "github.com/hashicorp/hcl/v2"

// Module is a `module "NAME"` block: a source and the option values.
type Module struct {
	Name      string
	Source    hcl.Expression // nil: the label names a built-in module
	After     hcl.Expression // nil: none; services the module's services start after
	Options   hcl.Attributes // every other attribute
	DeclRange hcl.Range
	NameRange hcl.Range
}

func (f *File) addModule(b *hcl.Block) hcl.Diagnostics {
	attrs, diags := b.Body.JustAttributes()
	m := &Module{Name: b.Labels[0], Options: hcl.Attributes{}, DeclRange: b.DefRange, NameRange: b.LabelRanges[0]}
	for name, a := range attrs {
		switch name {
		case "source":
			m.Source = a.Expr
		case "after":
			m.After = a.Expr
		default:
			m.Options[name] = a
		}
	}
	f.Modules = append(f.Modules, m)
	return diags
}
