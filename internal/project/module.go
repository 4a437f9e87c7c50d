package project

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/nix-docker/nix-docker/modules"
	"github.com/nix-docker/nix-docker/schema"
	"github.com/zclconf/go-cty/cty"
)

func (l *loader) moduleSource(sc *scope, m *schema.Module) (src []byte, filename, dir, id string, ok bool) {
	source, rng := m.Name, m.NameRange
	if m.Source != nil {
		v, ok := l.typed(sc, m.Source, cty.String, "attribute \"source\"")
		if !ok {
			return nil, "", "", "", false
		}
		source, rng = v.AsString(), m.Source.Range()
	}
	if strings.HasPrefix(source, "./") || strings.HasPrefix(source, "../") {
		if sc.dir == "" {
			l.errorf(rng, "Invalid module source", "A built-in module cannot use modules by relative path.")
			return nil, "", "", "", false
		}
		p := filepath.Join(sc.dir, filepath.FromSlash(source))
		b, err := os.ReadFile(p)
		if err != nil {
			l.errorf(rng, "Cannot read module", "Module %q: %s.", source, err)
			return nil, "", "", "", false
		}
		rel, err := filepath.Rel(l.proj.Dir, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = p
		}
		return b, rel, filepath.Dir(p), p, true
	}
	if b, ok := modules.Source(source); ok {
		return b, "<built-in>/" + source + ".hcl", "", "builtin:" + source, true
	}
	detail := fmt.Sprintf("There is no built-in module named %q.%s Built-in modules: %s. A module of your own is named by a relative path, such as \"./modules/x.hcl\".",
		source, suggest(source, modules.Names()), strings.Join(modules.Names(), ", "))
	summary := "Unknown module"
	l.errorf(rng, summary, "%s", detail)
	return nil, "", "", "", false
}

func (l *loader) addModule(sc *scope, m *schema.Module, chain []string) {
	src, filename, dir, id, ok := l.moduleSource(sc, m)
	if !ok {
		return
	}
	if slices.Contains(chain, id) || len(chain) >= maxModuleDepth {
		l.errorf(m.DeclRange, "Module cycle", "Module %q uses itself, through %s.", id, strings.Join(append(chain, id), " -> "))
		return
	}
	f, diags := schema.Parse(l.parser, src, filename, schema.ModuleFile)
	l.diags = append(l.diags, diags...)
	if f == nil || diags.HasErrors() {
		return
	}
	instance := l.name(sc, m.Name)
	msc := &scope{instance: instance, dir: dir, decl: m.DeclRange, after: sc.after}
	if m.After != nil {
		after, ok := l.typed(sc, m.After, cty.List(cty.String), "attribute \"after\"")
		if !ok {
			return
		}
		for it := after.ElementIterator(); it.Next(); {
			_, e := it.Element()
			dep := e.AsString()
			if sc.services[dep] {
				dep = l.name(sc, dep)
			}
			msc.after = append(msc.after, dep)
		}
	}
	// Options: declared types, given values (evaluated where the module
	// is used) or defaults (evaluated in the module).
	declared := map[string]*schema.Option{}
	var names []string
	for _, o := range f.Options {
		declared[o.Name] = o
		names = append(names, o.Name)
	}
	for _, a := range sortedAttrs(m.Options) {
		if declared[a.Name] == nil {
			l.errorf(a.NameRange, "Unsupported option", "Module %q has no option named %q.%s Its options: %s.", id, a.Name, suggest(a.Name, names), strings.Join(sortedStrings(names), ", "))
		}
	}
	values, at, ok := l.optionValues(sc, m, f, instance, dir)
	if !ok {
		return
	}
	// Validations run once every option has its value: a condition may
	// read the others (option.NAME), as Terraform's may.
	msc.options = cty.ObjectVal(values)
	failed := false
	for _, o := range f.Options {
		vsc := &scope{instance: instance, dir: dir, value: values[o.Name], options: msc.options}
		if !l.validate(vsc, o, at[o.Name]) {
			failed = true
		}
	}
	if failed {
		return
	}
	l.proj.Modules = append(l.proj.Modules, ModuleInstance{Name: instance, Source: id, DeclRange: m.DeclRange})
	l.addFile(msc, f, append(chain, id))
}

// optionValues evaluates a module instance's options: the values given
// (evaluated where the module is used) or the defaults (evaluated in the
// module), each conformed to its declared type. at is where each value
// was given (the module block, for defaults).
func (l *loader) optionValues(sc *scope, m *schema.Module, f *schema.File, instance, dir string) (map[string]cty.Value, map[string]hcl.Range, bool) {
	values := map[string]cty.Value{}
	at := map[string]hcl.Range{}
	failed := false
	for _, o := range f.Options {
		ty := cty.DynamicPseudoType
		if o.Type != nil {
			t, d := typeexpr.TypeConstraint(o.Type)
			l.diags = append(l.diags, d...)
			if d.HasErrors() {
				failed = true
				continue
			}
			ty = t
		}
		what := fmt.Sprintf("option %q of module %q", o.Name, m.Name)
		var v cty.Value
		var ok bool
		if a := m.Options[o.Name]; a != nil {
			v, ok = l.typed(sc, a.Expr, ty, what)
		} else if o.Default != nil {
			v, ok = l.typed(&scope{instance: instance, dir: dir}, o.Default, ty, what)
		} else {
			l.errorf(m.DeclRange, "Missing required option", "Module %q needs option %q (%s): %s", m.Name, o.Name, ty.FriendlyName(), o.Description)
		}
		if !ok {
			failed = true
			continue
		}
		at[o.Name] = m.DeclRange
		if a := m.Options[o.Name]; a != nil {
			at[o.Name] = a.Expr.Range()
		}
		values[o.Name] = v
	}
	return values, at, !failed
}

func (l *loader) validate(sc *scope, o *schema.Option, at hcl.Range) bool {
	for _, v := range o.Validations {
		cond, ok := l.typed(sc, v.Condition, cty.Bool, "a validation condition")
		if !ok {
			return false
		}
		if cond.True() {
			continue
		}
		msg, ok := l.typed(sc, v.ErrorMessage, cty.String, "a validation error_message")
		if !ok {
			return false
		}
		l.errorf(at, "Invalid option value", "Option %q: %s", o.Name, msg.AsString())
		return false
	}
	return true
}

// check validates what only the whole project can tell.
