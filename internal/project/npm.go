package project

import (
	"path/filepath"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/nix-docker/nix-docker/internal/npm"
)

// npmPackageType is what npm_package() returns.
var npmPackageType = cty.Object(map[string]cty.Type{
	"name":     cty.String,
	"version":  cty.String,
	"start":    cty.String,
	"registry": cty.String,
	"scopes":   cty.Map(cty.String),
	"problem":  cty.String,
})

// npmPackageFunc is npm_package(DIR): what package.json, package-lock.json
// and .npmrc in a path() directory say (internal/npm reads them). It never
// fails: what is wrong with the project is its `problem`, every mistake on
// a line of its own, located in its file and named by its entry, for a
// validation block to report where the directory was given.
func (l *loader) npmPackageFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "dir", Type: cty.String}},
		Type:   function.StaticReturnType(npmPackageType),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return l.npmPackage(args[0].AsString()), nil
		},
	})
}

func (l *loader) npmPackage(dir string) cty.Value {
	out := map[string]cty.Value{
		"name": cty.StringVal(""), "version": cty.StringVal(""), "start": cty.StringVal(""),
		"registry": cty.StringVal(""), "scopes": cty.MapValEmpty(cty.String), "problem": cty.StringVal(""),
	}
	abs, ok := l.hostPath(dir)
	if !ok {
		out["problem"] = cty.StringVal("The project's directory is given with path(), such as path(\"app\"): a directory beside the HCL file holding package.json and package-lock.json.")
		return cty.ObjectVal(out)
	}
	if l.npm == nil {
		l.npm = map[string]*npm.Project{}
	}
	p := l.npm[abs]
	if p == nil {
		p = npm.Read(abs)
		l.npm[abs] = p
	}
	rel, err := filepath.Rel(l.proj.Dir, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = abs
	}
	var problems []string
	for i, pr := range p.Problems {
		if i == npm.MaxProblems {
			problems = append(problems, "(and more)")
			break
		}
		pr.File = filepath.ToSlash(filepath.Join(rel, pr.File))
		problems = append(problems, pr.String())
	}
	out["name"] = cty.StringVal(p.Name)
	out["version"] = cty.StringVal(p.Version)
	out["start"] = cty.StringVal(p.Start)
	out["registry"] = cty.StringVal(p.Registry)
	if len(p.Scopes) > 0 {
		scopes := map[string]cty.Value{}
		for k, v := range p.Scopes {
			scopes[k] = cty.StringVal(v)
		}
		out["scopes"] = cty.MapVal(scopes)
	}
	out["problem"] = cty.StringVal(strings.Join(problems, "\n"))
	return cty.ObjectVal(out)
}

// hostPath is the host directory a path() value stands for, when s is
// exactly one path() reference.
func (l *loader) hostPath(s string) (string, bool) {
	parts := l.proj.Split(s)
	if len(parts) != 1 || parts[0].Ref == nil || parts[0].Ref.Kind != PathRef {
		return "", false
	}
	return parts[0].Ref.Path, true
}
