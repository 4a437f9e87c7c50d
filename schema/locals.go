package schema

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// Local is one attribute of a `locals` block: a named value the file's
// other expressions read as local.NAME, as in Terraform. A file may have
// several locals blocks; a name is declared once in the file.
type Local struct {
	Name      string
	Expr      hcl.Expression
	NameRange hcl.Range
}

func (f *File) addLocals(b *hcl.Block, seen map[string]hcl.Range) hcl.Diagnostics {
	attrs, diags := b.Body.JustAttributes()
	var names []string
	for name := range attrs {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		return attrs[names[i]].NameRange.Start.Byte < attrs[names[j]].NameRange.Start.Byte
	})
	for _, name := range names {
		a := attrs[name]
		key := "local\x00" + name
		if prev, dup := seen[key]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate local value",
				Detail:   fmt.Sprintf("A local value named %q was already declared at %s. Names must be unique; rename one of them.", name, prev),
				Subject:  a.NameRange.Ptr(),
			})
			continue
		}
		seen[key] = a.NameRange
		f.Locals = append(f.Locals, &Local{Name: name, Expr: a.Expr, NameRange: a.NameRange})
	}
	return diags
}
