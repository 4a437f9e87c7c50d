package nixexpr

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/nix-docker/nix-docker/internal/project"
)

// nixCall renders a nix() expression. Its body is Nix source the app file
// wrote; it is parsed on its own, as a file of its own, so that nothing in
// it (an unbalanced bracket, an open string or comment) can reach the
// expression around it: a function of pkgs and its bindings, written to
// the store with builtins.toFile and imported, then applied to their
// values, which are rendered here and evaluated outside the body:
//
//	(import (builtins.toFile "nix-docker-expr.nix" "{ pkgs, nodejs, src }:
//	EXPR
//	")) { inherit pkgs; nodejs = pkgs.nodejs; src = paths."app"; }
func (r *renderer) nixCall(ref project.Ref) (string, error) {
	var names []string
	if ref.Args != cty.NilVal {
		for name := range ref.Args.Type().AttributeTypes() {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	// The body ends on its own line: a comment in it ends there.
	file, err := escape(fmt.Sprintf("{ %s }:\n%s\n", strings.Join(append([]string{"pkgs"}, names...), ", "), ref.Expr))
	if err != nil {
		return "", fmt.Errorf("nix(): %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "(import (builtins.toFile \"nix-docker-expr.nix\" \"%s\")) { inherit pkgs;", file)
	for _, name := range names {
		v, err := r.nixValue(ref.Args.GetAttr(name))
		if err != nil {
			return "", fmt.Errorf("nix() binding %s: %w", name, err)
		}
		fmt.Fprintf(&b, " %s = %s;", name, v)
	}
	b.WriteString(" }")
	return b.String(), nil
}

// nixValue renders an HCL value as a Nix value: strings quoted (references
// as interpolations), except that a string that is exactly one reference
// is the reference's own Nix value; numbers, bools and null as literals;
// lists and objects (keys quoted, sorted) element by element.
func (r *renderer) nixValue(v cty.Value) (string, error) {
	ty := v.Type()
	switch {
	case v.IsNull():
		return "null", nil
	case ty == cty.String:
		s := v.AsString()
		if parts := r.p.Split(s); len(parts) == 1 && parts[0].Ref != nil {
			return r.ref(parts[0].Ref)
		}
		return r.str(s)
	case ty == cty.Bool:
		if v.True() {
			return "true", nil
		}
		return "false", nil
	case ty == cty.Number:
		return nixNumber(v.AsBigFloat()), nil
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		var elems []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			s, err := r.nixValue(e)
			if err != nil {
				return "", err
			}
			elems = append(elems, s)
		}
		if len(elems) == 0 {
			return "[ ]", nil
		}
		return "[ " + strings.Join(elems, " ") + " ]", nil
	case ty.IsMapType() || ty.IsObjectType():
		var items []string
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			s, err := r.nixValue(e)
			if err != nil {
				return "", err
			}
			items = append(items, quote(k.AsString())+" = "+s+";")
		}
		sort.Strings(items)
		if len(items) == 0 {
			return "{ }", nil
		}
		return "{ " + strings.Join(items, " ") + " }", nil
	}
	return "", fmt.Errorf("a %s has no Nix value", ty.FriendlyName())
}

// nixNumber renders a number: an integer as one, anything else as a Nix
// float literal (digits, a point, digits); negative ones in parentheses.
func nixNumber(f *big.Float) string {
	var s string
	if f.IsInt() {
		s = f.Text('f', 0)
	} else {
		s = f.Text('f', -1)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
	}
	if strings.HasPrefix(s, "-") {
		return "(" + s + ")"
	}
	return s
}
