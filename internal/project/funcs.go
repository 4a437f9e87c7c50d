package project

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/nix-docker/nix-docker/internal/quote"
)

// functions are nix-docker's own (path, nix, the quoting functions and
// checks of internal/quote) and a standard library like Terraform's:
// strings, collections, numbers, regular expressions, can/try. The
// functions that read the characters of a string refuse a reference
// (see opaque).
func (l *loader) functions(sc *scope) map[string]function.Function {
	fns := map[string]function.Function{
		"path":        l.pathFunc(sc),
		"nix":         l.nixFunc(),
		"npm_package": l.npmPackageFunc(),

		"can": tryfunc.CanFunc,
		"try": tryfunc.TryFunc,

		"abs":        stdlib.AbsoluteFunc,
		"ceil":       stdlib.CeilFunc,
		"floor":      stdlib.FloorFunc,
		"max":        stdlib.MaxFunc,
		"min":        stdlib.MinFunc,
		"chomp":      stdlib.ChompFunc,
		"indent":     stdlib.IndentFunc,
		"join":       stdlib.JoinFunc,
		"trimspace":  stdlib.TrimSpaceFunc,
		"concat":     stdlib.ConcatFunc,
		"contains":   stdlib.ContainsFunc,
		"distinct":   stdlib.DistinctFunc,
		"element":    stdlib.ElementFunc,
		"flatten":    stdlib.FlattenFunc,
		"keys":       stdlib.KeysFunc,
		"lookup":     stdlib.LookupFunc,
		"merge":      stdlib.MergeFunc,
		"range":      stdlib.RangeFunc,
		"reverse":    stdlib.ReverseListFunc,
		"slice":      stdlib.SliceFunc,
		"sort":       stdlib.SortFunc,
		"values":     stdlib.ValuesFunc,
		"zipmap":     stdlib.ZipmapFunc,
		"jsonencode": stdlib.JSONEncodeFunc,
		"tostring":   stdlib.MakeToFunc(cty.String),
		"tolist":     stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":      stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"format":     l.formatFunc("format", stdlib.FormatFunc),
		"formatlist": l.formatFunc("formatlist", stdlib.FormatListFunc),

		"is_path":      l.checkFunc(quote.CheckPath),
		"is_host":      l.checkFunc(quote.CheckHost),
		"is_host_port": l.checkFunc(quote.CheckHostPort),
		"is_port":      isPortFunc,
	}
	for name, f := range map[string]function.Function{
		"parseint":   stdlib.ParseIntFunc,
		"lower":      stdlib.LowerFunc,
		"upper":      stdlib.UpperFunc,
		"replace":    stdlib.ReplaceFunc,
		"split":      stdlib.SplitFunc,
		"strrev":     stdlib.ReverseFunc,
		"substr":     stdlib.SubstrFunc,
		"title":      stdlib.TitleFunc,
		"trim":       stdlib.TrimFunc,
		"trimprefix": stdlib.TrimPrefixFunc,
		"trimsuffix": stdlib.TrimSuffixFunc,
		"regex":      stdlib.RegexFunc,
		"regexall":   stdlib.RegexAllFunc,
		"length":     stdlib.LengthFunc,
		"tonumber":   stdlib.MakeToFunc(cty.Number),
		"tobool":     stdlib.MakeToFunc(cty.Bool),
	} {
		fns[name] = l.opaque(name, f)
	}
	for name, q := range quote.Targets {
		fns[name] = l.quoteFunc(q)
	}
	return fns
}

// opaque wraps a function that reads the characters of its string
// arguments, which a reference does not have yet: the placeholder that
// stands for a store path until Nix builds it must never be cut, changed
// or measured. Given a string argument holding a reference, it fails at
// the call, naming the reference.
func (l *loader) opaque(name string, f function.Function) function.Function {
	return function.New(&function.Spec{
		Description: f.Description(),
		Params:      f.Params(),
		VarParam:    f.VarParam(),
		Type:        func(args []cty.Value) (cty.Type, error) { return f.ReturnTypeForValues(args) },
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			for _, a := range args {
				if ref := l.refIn(a); ref != "" {
					return cty.NilVal, fmt.Errorf("%s cannot look inside %s: a reference stands for a store path that Nix makes later, so its characters are not known here. Use it whole, in a string template, join() or format(\"%%s\")", name, ref)
				}
			}
			return f.Call(args)
		},
	})
}

// refIn returns the first reference a string value holds, spelled as in
// HCL, or "".
func (l *loader) refIn(v cty.Value) string {
	if v.Type() != cty.String || !v.IsKnown() || v.IsNull() {
		return ""
	}
	for _, part := range l.proj.Split(v.AsString()) {
		if part.Ref != nil {
			return "${" + part.Ref.String() + "}"
		}
	}
	return ""
}

// plainVerb is a format verb that copies its argument whole.
var plainVerb = regexp.MustCompile(`^%(\[\d+\])?[sv]$|^%%$`)

var formatVerb = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d*)?[a-zA-Z%]`)

// formatFunc is format or formatlist, taking references in arguments
// that %s or %v copy whole; any other verb (a width, a precision, %q)
// would cut or change one, so it refuses them then.
func (l *loader) formatFunc(name string, f function.Function) function.Function {
	return function.New(&function.Spec{
		Description: f.Description(),
		Params:      f.Params(),
		VarParam:    f.VarParam(),
		Type:        func(args []cty.Value) (cty.Type, error) { return f.ReturnTypeForValues(args) },
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if ref := l.refIn(args[0]); ref != "" {
				return cty.NilVal, fmt.Errorf("%s cannot take %s as its format: a reference's characters are not known here", name, ref)
			}
			plain := true
			if args[0].IsKnown() && !args[0].IsNull() {
				for _, v := range formatVerb.FindAllString(args[0].AsString(), -1) {
					plain = plain && plainVerb.MatchString(v)
				}
			}
			for _, a := range args[1:] {
				if ref := l.deepRef(a); ref != "" && !plain {
					return cty.NilVal, fmt.Errorf("%s cannot format %s with a width, a precision or a verb other than %%s and %%v: a reference's characters are not known here", name, ref)
				}
			}
			return f.Call(args)
		},
	})
}

// deepRef is refIn for a string anywhere in v.
func (l *loader) deepRef(v cty.Value) string {
	found := ""
	cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		if found == "" {
			found = l.refIn(v)
		}
		return found == "", nil
	})
	return found
}

// checkFunc makes an is_* function: true when check accepts the string,
// references standing for a store path.
func (l *loader) checkFunc(check func(string) error) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "value", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(check(l.sample(args[0].AsString())) == nil), nil
		},
	})
}

var isPortFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.Number}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		bf := args[0].AsBigFloat()
		n, _ := bf.Int64()
		return cty.BoolVal(bf.IsInt() && quote.CheckPort(int(n)) == nil && n < 1<<16), nil
	},
})

// quoteFunc makes a *_quote function. A reference is quoted as the
// store path it stands for would be: store paths hold only
// [A-Za-z0-9+._?=/-], which no target treats specially, so a value
// that needs no quotes with a store path in it needs none with the
// placeholder either.
func (l *loader) quoteFunc(q quote.Func) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "value", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s := args[0].AsString()
			sample := l.sample(s)
			qs, err := q(sample)
			if err != nil {
				return cty.NilVal, fmt.Errorf("%s", l.proj.show(err.Error()))
			}
			if qs == sample {
				return cty.StringVal(s), nil
			}
			out, err := q(s)
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(out), nil
		},
	})
}

// sampleStorePath is what a reference stands for when a check or a
// quoting function needs its characters: a store path of the same shape.
const sampleStorePath = "/nix/store/00000000000000000000000000000000-ref"

// sample returns s with each reference replaced by sampleStorePath.
func (l *loader) sample(s string) string {
	var b strings.Builder
	for _, part := range l.proj.Split(s) {
		if part.Ref != nil {
			b.WriteString(sampleStorePath)
		} else {
			b.WriteString(part.Lit)
		}
	}
	return b.String()
}
