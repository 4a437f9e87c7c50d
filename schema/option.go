package schema

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Option is a module's `option "NAME"` block.
type Option struct {
	Name        string
	Type        hcl.Expression // a type constraint expression; nil means any
	Default     hcl.Expression // nil: required
	Description string
	Validations []*Validation
	DeclRange   hcl.Range
}

// Validation is an option's `validation` block: condition is evaluated
// with `value` bound to the option's value.
type Validation struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

var (
	optionSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
	}
	validationSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true}, {Name: "error_message", Required: true},
	}}
)

func (f *File) addOption(b *hcl.Block) hcl.Diagnostics {
	c, diags := content(b.Body, optionSchema)
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
	f.Options = append(f.Options, o)
	return diags
}
