package project

import (
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/nix-docker/nix-docker/internal/quote"
)

// nixFunc is the raw Nix escape hatch: nix("pkgs.php.withExtensions (e: [ e.all.pdo ])")
// stands for the store path of that expression, evaluated with `pkgs` in
// scope. An optional second argument binds names in the expression to
// values of the HCL file: nix("pkgs.hello.override { x = y; }", { y = option.y }).
// The values are rendered as Nix values, never as Nix source: strings are
// quoted, and a string that is one reference (path("app"), pkgs.nodejs,
// another nix()) is that reference's Nix value (a path, a derivation).
func (l *loader) nixFunc() function.Function {
	return function.New(&function.Spec{
		Params:   []function.Parameter{{Name: "expression", Type: cty.String}},
		VarParam: &function.Parameter{Name: "args", Type: cty.DynamicPseudoType},
		Type:     function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			expr := strings.TrimSpace(args[0].AsString())
			if expr == "" {
				return cty.NilVal, fmt.Errorf("nix() needs a Nix expression, such as \"pkgs.hello\"")
			}
			if l.proj.HasRefs(expr) || strings.ContainsAny(expr, markOpen+markClose) {
				return cty.NilVal, fmt.Errorf("nix() takes a literal Nix expression; it cannot hold references: pass those in its second argument, { name = value }, and use the name")
			}
			for i := 0; i < len(expr); i++ {
				if c := expr[i]; (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
					return cty.NilVal, fmt.Errorf("nix() cannot hold the control character %q (at byte %d): Nix source is text", rune(c), i)
				}
			}
			ref := Ref{Kind: NixRef, Expr: expr}
			switch len(args) {
			case 1:
			case 2:
				bound, err := nixArgs(args[1])
				if err != nil {
					return cty.NilVal, err
				}
				ref.Args = bound
			default:
				return cty.NilVal, fmt.Errorf("nix() takes an expression and at most one object of bindings, not %d arguments", len(args))
			}
			return cty.StringVal(l.proj.placeholder(ref)), nil
		},
	})
}

// nixArgs checks nix()'s bindings: an object whose names are Nix
// identifiers (not pkgs, which the expression sees already) and whose
// values Nix can hold.
func nixArgs(v cty.Value) (cty.Value, error) {
	ty := v.Type()
	if !(ty.IsObjectType() || ty.IsMapType()) || v.IsNull() {
		return cty.NilVal, fmt.Errorf("nix()'s second argument binds names to values: an object such as { src = path(\"app\") }, not a %s", ty.FriendlyName())
	}
	if !v.IsWhollyKnown() {
		return cty.NilVal, fmt.Errorf("nix()'s bindings must be known when the image is built")
	}
	attrs := map[string]cty.Value{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		name := k.AsString()
		if !nixIdentifier(name) {
			return cty.NilVal, fmt.Errorf("nix() binds %q, which is not a Nix identifier (letters, digits, _ and -, not a keyword, not pkgs)", name)
		}
		if err := nixValueOK(e, cty.GetAttrPath(name)); err != nil {
			return cty.NilVal, err
		}
		attrs[name] = e
	}
	return cty.ObjectVal(attrs), nil
}

// unbindable are names a binding may not take besides Nix's keywords: the
// builtin values, and pkgs, which the expression sees already.
var unbindable = map[string]bool{"true": true, "false": true, "null": true, "pkgs": true}

func nixIdentifier(s string) bool { return quote.NixIdentifier(s) && !unbindable[s] }

// nixValueOK tells whether a value has a Nix counterpart: strings,
// numbers, bools, null, lists and objects of them.
func nixValueOK(v cty.Value, at cty.Path) error {
	ty := v.Type()
	switch {
	case v.IsNull(), ty == cty.String, ty == cty.Bool:
		return nil
	case ty == cty.Number:
		if f := v.AsBigFloat(); f.IsInf() {
			return fmt.Errorf("nix() binding %s is an infinite number, which Nix has no value for", pathString(at))
		}
		return nil
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType() || ty.IsMapType() || ty.IsObjectType():
		keyed := ty.IsMapType() || ty.IsObjectType()
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if keyed && strings.ContainsAny(k.AsString(), markOpen+markClose) {
				return fmt.Errorf("nix() binding %s: a key cannot hold a reference (such as ${pkgs.x}); pass the reference as a value", pathString(at))
			}
			if err := nixValueOK(e, append(at, cty.IndexStep{Key: k})); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("nix() binding %s is a %s, which Nix has no value for", pathString(at), ty.FriendlyName())
	}
}
