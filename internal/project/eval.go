package project

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// scope is where an expression is evaluated: the app file, or one module
// instance.
type scope struct {
	instance string    // module instance name; "" in the app file
	decl     hcl.Range // the module block that made this instance
	after    []string  // the module block's after: every service here starts after these
	dir      string    // directory for path(); "" in built-in modules
	options  cty.Value
	files    map[string]cty.Value // file label -> placeholder
	locals   map[string]cty.Value // local values of this file, as evaluated so far
	services map[string]bool      // service labels declared in this file
	value    cty.Value            // an option's value, in its validation blocks
}

func (l *loader) evalContext(sc *scope, expr hcl.Expression) (*hcl.EvalContext, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	vars := map[string]cty.Value{}
	pkgs, d := l.pkgsObject(expr.Variables())
	diags = append(diags, d...)
	if pkgs != cty.NilVal {
		vars["pkgs"] = pkgs
	}
	if sc.options != cty.NilVal {
		vars["option"] = sc.options
		vars["module"] = cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(sc.instance)})
	}
	if len(sc.files) > 0 {
		vars["file"] = cty.ObjectVal(sc.files)
	}
	if sc.value != cty.NilVal {
		vars["value"] = sc.value
	}
	if sc.locals != nil {
		vars["local"] = cty.ObjectVal(sc.locals)
	}
	return &hcl.EvalContext{
		Variables: vars,
		Functions: l.functions(sc),
	}, diags
}

// pkgsObject builds the `pkgs` variable from the traversals an expression
// uses: each pkgs.a.b becomes a placeholder for that attribute path.
func (l *loader) pkgsObject(trs []hcl.Traversal) (cty.Value, hcl.Diagnostics) {
	type node struct {
		leaf     string
		children map[string]*node
	}
	root := &node{children: map[string]*node{}}
	var diags hcl.Diagnostics
	used := false
	for _, tr := range trs {
		if tr.RootName() != "pkgs" {
			continue
		}
		used = true
		var attr []string
		for _, step := range tr[1:] {
			switch s := step.(type) {
			case hcl.TraverseAttr:
				attr = append(attr, s.Name)
			case hcl.TraverseIndex:
				if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
					attr = append(attr, s.Key.AsString())
				}
			}
			if len(attr) == 0 {
				break
			}
		}
		if len(attr) == 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Package set used without a package",
				Detail:   "pkgs is the Nix package set; name a package attribute, for example pkgs.redis or pkgs.nodejs.",
				Subject:  tr.SourceRange().Ptr(),
			})
			continue
		}
		n := root
		for i, a := range attr {
			c := n.children[a]
			if c == nil {
				c = &node{children: map[string]*node{}}
				n.children[a] = c
			}
			n = c
			if i == len(attr)-1 && n.leaf == "" {
				n.leaf = l.proj.placeholder(Ref{Kind: PkgRef, Attr: append([]string(nil), attr...)})
			}
		}
	}
	if !used {
		return cty.NilVal, diags
	}
	var build func(n *node) cty.Value
	build = func(n *node) cty.Value {
		if len(n.children) == 0 {
			return cty.StringVal(n.leaf)
		}
		m := map[string]cty.Value{}
		for k, c := range n.children {
			m[k] = build(c)
		}
		return cty.ObjectVal(m)
	}
	return build(root), diags
}

func (l *loader) eval(sc *scope, expr hcl.Expression) (cty.Value, bool) {
	ctx, diags := l.evalContext(sc, expr)
	if diags.HasErrors() {
		l.diags = append(l.diags, diags...)
		return cty.NilVal, false
	}
	v, d := expr.Value(ctx)
	l.diags = append(l.diags, d...)
	l.flushWarnings(expr)
	if d.HasErrors() {
		return cty.NilVal, false
	}
	if l.brokenRef(v) {
		l.errorf(expr.Range(), "Reference taken apart", "A reference (pkgs.*, path(), file.*, nix()) stands for a store path that Nix makes later; this value holds a piece of one, cut or changed by a function. Use references whole: in string templates, join() or format(\"%%s\").")
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		l.errorf(expr.Range(), "Value not known", "This value cannot be known when the image is built.")
		return cty.NilVal, false
	}
	return v, true
}

func (l *loader) errorf(rng hcl.Range, summary, detail string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(detail, args...),
		Subject:  rng.Ptr(),
	})
}

// typed evaluates expr and conforms it to ty strictly: a number or a bool
// is not silently turned into a string, nor the other way round.
func (l *loader) typed(sc *scope, expr hcl.Expression, ty cty.Type, what string) (cty.Value, bool) {
	v, ok := l.eval(sc, expr)
	if !ok {
		return cty.NilVal, false
	}
	if v, ok = l.conform(v, ty, expr, what); ok && holdsNUL(v) {
		l.errorf(expr.Range(), "Invalid string", "%s holds a NUL byte, which no file, command, path or environment variable can carry.", capital(what))
		return cty.NilVal, false
	}
	return v, ok
}

// brokenRef tells whether a string anywhere in v (map keys and
// attribute names included) holds a piece of a placeholder outside a
// whole one: a function cut or changed a reference.
func (l *loader) brokenRef(v cty.Value) bool {
	broken := func(s string) bool {
		for _, part := range l.proj.Split(s) {
			if part.Ref == nil && (strings.ContainsAny(part.Lit, markOpen+markClose) || strings.Contains(part.Lit, l.proj.nonce)) {
				return true
			}
		}
		return false
	}
	found := false
	cty.Walk(v, func(p cty.Path, v cty.Value) (bool, error) {
		if len(p) > 0 {
			switch st := p[len(p)-1].(type) {
			case cty.GetAttrStep:
				found = found || broken(st.Name)
			case cty.IndexStep:
				found = found || st.Key.Type() == cty.String && broken(st.Key.AsString())
			}
		}
		if v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			found = found || broken(v.AsString())
		}
		return !found, nil
	})
	return found
}

// holdsNUL tells whether a string anywhere in v holds a NUL byte.
func holdsNUL(v cty.Value) bool {
	found := false
	cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		if v.Type() == cty.String && v.IsKnown() && !v.IsNull() && strings.ContainsRune(v.AsString(), 0) {
			found = true
		}
		return !found, nil
	})
	return found
}

func (l *loader) conform(v cty.Value, ty cty.Type, expr hcl.Expression, what string) (cty.Value, bool) {
	rng := expr.Range()
	if v.IsNull() {
		l.errorf(rng, "Missing value", "%s must not be null.", capital(what))
		return cty.NilVal, false
	}
	if err, at := strict(v, ty, nil); err != "" {
		l.errorf(subRange(expr, at), "Incorrect value type", "Inappropriate value for %s: %s.", what, err)
		return cty.NilVal, false
	}
	out, err := convert.Convert(v, ty)
	if err != nil {
		l.errorf(rng, "Incorrect value type", "Inappropriate value for %s: %s.", what, convertMessage(err))
		return cty.NilVal, false
	}
	return out, true
}

// subRange finds the part of a literal list or object that path leads to,
// so an error can point at the element itself.
func subRange(expr hcl.Expression, path cty.Path) hcl.Range {
	for _, step := range path {
		switch e := expr.(type) {
		case *hclsyntax.TupleConsExpr:
			idx, ok := step.(cty.IndexStep)
			if !ok || idx.Key.Type() != cty.Number {
				return expr.Range()
			}
			i, _ := idx.Key.AsBigFloat().Int64()
			if int(i) >= len(e.Exprs) {
				return expr.Range()
			}
			expr = e.Exprs[i]
		case *hclsyntax.ObjectConsExpr:
			var key string
			switch st := step.(type) {
			case cty.IndexStep:
				if st.Key.Type() != cty.String {
					return expr.Range()
				}
				key = st.Key.AsString()
			case cty.GetAttrStep:
				key = st.Name
			}
			found := false
			for _, item := range e.Items {
				if k, d := item.KeyExpr.Value(nil); !d.HasErrors() && k.Type() == cty.String && k.AsString() == key {
					expr, found = item.ValueExpr, true
					break
				}
			}
			if !found {
				return expr.Range()
			}
		default:
			return expr.Range()
		}
	}
	return expr.Range()
}

func convertMessage(err error) string {
	if pe, ok := err.(cty.PathError); ok && len(pe.Path) > 0 {
		return fmt.Sprintf("element %s: %s", pathString(pe.Path), pe.Error())
	}
	return err.Error()
}

// strict reports a primitive type mismatch anywhere in v, where go-cty's
// conversion would quietly turn numbers and bools into strings.
func strict(v cty.Value, ty cty.Type, path cty.Path) (string, cty.Path) {
	at := ""
	if len(path) > 0 {
		at = " at " + pathString(path)
	}
	switch {
	case ty == cty.DynamicPseudoType:
		return "", nil
	case ty.IsPrimitiveType():
		if vt := v.Type(); vt.IsPrimitiveType() && vt != ty {
			return fmt.Sprintf("%s required%s, got %s", ty.FriendlyName(), at, vt.FriendlyName()), path
		}
		if !v.Type().IsPrimitiveType() {
			return fmt.Sprintf("%s required%s, got %s", ty.FriendlyName(), at, v.Type().FriendlyName()), path
		}
	case ty.IsListType() || ty.IsSetType():
		if !(v.Type().IsTupleType() || v.Type().IsListType() || v.Type().IsSetType()) {
			return fmt.Sprintf("%s required%s, got %s", ty.FriendlyName(), at, v.Type().FriendlyName()), path
		}
		i := int64(0)
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			if m, p := strict(e, ty.ElementType(), append(path, cty.IndexStep{Key: cty.NumberIntVal(i)})); m != "" {
				return m, p
			}
		}
	case ty.IsMapType():
		if !(v.Type().IsObjectType() || v.Type().IsMapType()) {
			return fmt.Sprintf("%s required%s, got %s", ty.FriendlyName(), at, v.Type().FriendlyName()), path
		}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if m, p := strict(e, ty.ElementType(), append(path, cty.IndexStep{Key: k})); m != "" {
				return m, p
			}
		}
	case ty.IsObjectType():
		if !(v.Type().IsObjectType() || v.Type().IsMapType()) {
			return fmt.Sprintf("%s required%s, got %s", ty.FriendlyName(), at, v.Type().FriendlyName()), path
		}
		for name, aty := range ty.AttributeTypes() {
			if v.Type().IsObjectType() && !v.Type().HasAttribute(name) {
				continue // convert reports missing attributes
			}
			if v.Type().IsMapType() && !v.HasIndex(cty.StringVal(name)).True() {
				continue
			}
			if m, p := strict(v.Index(cty.StringVal(name)), aty, append(path, cty.GetAttrStep{Name: name})); m != "" {
				return m, p
			}
		}
	}
	return "", nil
}

func pathString(p cty.Path) string {
	var b strings.Builder
	for _, s := range p {
		switch s := s.(type) {
		case cty.GetAttrStep:
			b.WriteString("." + s.Name)
		case cty.IndexStep:
			if s.Key.Type() == cty.String {
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			} else {
				fmt.Fprintf(&b, "[%s]", s.Key.AsBigFloat().String())
			}
		}
	}
	return strings.TrimPrefix(b.String(), ".")
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Typed getters for attributes. Each reports its own diagnostics and
// returns ok=false when the attribute is absent or wrong.

func (l *loader) str(sc *scope, attrs hcl.Attributes, name string) (string, *hcl.Attribute, bool) {
	a := attrs[name]
	if a == nil {
		return "", nil, false
	}
	v, ok := l.typed(sc, a.Expr, cty.String, fmt.Sprintf("attribute %q", name))
	if !ok {
		return "", a, false
	}
	return v.AsString(), a, true
}

func (l *loader) boolean(sc *scope, attrs hcl.Attributes, name string) (bool, bool) {
	a := attrs[name]
	if a == nil {
		return false, false
	}
	v, ok := l.typed(sc, a.Expr, cty.Bool, fmt.Sprintf("attribute %q", name))
	if !ok {
		return false, false
	}
	return v.True(), true
}

func (l *loader) whole(v cty.Value, rng hcl.Range, what string, min, max int64) (int, bool) {
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if acc != big.Exact || !bf.IsInt() {
		l.errorf(rng, "Invalid number", "%s must be a whole number.", capital(what))
		return 0, false
	}
	if i < min || i > max {
		l.errorf(rng, "Number out of range", "%s must be from %d to %d, not %d.", capital(what), min, max, i)
		return 0, false
	}
	return int(i), true
}

func (l *loader) integer(sc *scope, attrs hcl.Attributes, name string, min, max int64) (int, bool) {
	a := attrs[name]
	if a == nil {
		return 0, false
	}
	what := fmt.Sprintf("attribute %q", name)
	v, ok := l.typed(sc, a.Expr, cty.Number, what)
	if !ok {
		return 0, false
	}
	return l.whole(v, a.Expr.Range(), what, min, max)
}

func (l *loader) strList(sc *scope, attrs hcl.Attributes, name string) ([]string, *hcl.Attribute, bool) {
	a := attrs[name]
	if a == nil {
		return nil, nil, false
	}
	v, ok := l.typed(sc, a.Expr, cty.List(cty.String), fmt.Sprintf("attribute %q", name))
	if !ok {
		return nil, a, false
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	return out, a, true
}

func (l *loader) intList(sc *scope, attrs hcl.Attributes, name string, min, max int64) ([]int, bool) {
	a := attrs[name]
	if a == nil {
		return nil, false
	}
	return l.intListExpr(sc, a.Expr, fmt.Sprintf("attribute %q", name), min, max)
}

func (l *loader) intListExpr(sc *scope, expr hcl.Expression, what string, min, max int64) ([]int, bool) {
	v, ok := l.typed(sc, expr, cty.List(cty.Number), what)
	if !ok {
		return nil, false
	}
	var out []int
	i := 0
	for it := v.ElementIterator(); it.Next(); i++ {
		_, e := it.Element()
		n, ok := l.whole(e, elementRange(expr, i), what, min, max)
		if !ok {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func (l *loader) strMap(sc *scope, expr hcl.Expression, what string) (map[string]string, bool) {
	v, ok := l.typed(sc, expr, cty.Map(cty.String), what)
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		out[k.AsString()] = e.AsString()
	}
	return out, true
}

// elementRange is the range of a list literal's i-th element, or the whole
// expression's.
func elementRange(expr hcl.Expression, i int) hcl.Range {
	if t, ok := expr.(*hclsyntax.TupleConsExpr); ok && i < len(t.Exprs) {
		return t.Exprs[i].Range()
	}
	return expr.Range()
}

// suggest returns a " Did you mean ...?" sentence for the closest name.
func suggest(name string, candidates []string) string {
	best, bestD := "", 4
	sort.Strings(candidates)
	for _, c := range candidates {
		if d := distance(strings.ToLower(name), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}
