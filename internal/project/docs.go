package project

import (
	"bufio"
	"bytes"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/nix-docker/nix-docker/modules"
	"github.com/nix-docker/nix-docker/schema"
)

// ModuleDoc documents one built-in module.
type ModuleDoc struct {
	Name    string
	Summary string // the comment lines at the top of the module file
	Options []OptionDoc
}

// OptionDoc documents one option. Type and Default are HCL source text.
type OptionDoc struct {
	Name        string
	Type        string
	Default     string // "" when the option is required
	Description string
}

// BuiltinDocs reads the built-in modules' options, in name order.
func BuiltinDocs() ([]ModuleDoc, hcl.Diagnostics) {
	var out []ModuleDoc
	var diags hcl.Diagnostics
	parser := schema.NewParser()
	for _, name := range modules.Names() {
		src, _ := modules.Source(name)
		f, d := schema.Parse(parser, src, "<built-in>/"+name+".hcl", schema.ModuleFile)
		diags = append(diags, d...)
		if f == nil {
			continue
		}
		doc := ModuleDoc{Name: name, Summary: headerComment(src)}
		for _, o := range f.Options {
			od := OptionDoc{Name: o.Name, Type: "any", Description: o.Description}
			if o.Type != nil {
				od.Type = sourceText(src, o.Type.Range())
			}
			if o.Default != nil {
				od.Default = sourceText(src, o.Default.Range())
			}
			doc.Options = append(doc.Options, od)
		}
		out = append(out, doc)
	}
	return out, diags
}

func sourceText(src []byte, r hcl.Range) string {
	return strings.TrimSpace(string(r.SliceBytes(src)))
}

// headerComment returns the file's leading `#` comment lines as one
// paragraph per blank-comment-separated block.
func headerComment(src []byte) string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		t := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(t, "#") {
			break
		}
		lines = append(lines, strings.TrimSpace(strings.TrimPrefix(t, "#")))
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
