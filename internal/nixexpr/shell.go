package nixexpr

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/nix-docker/nix-docker/internal/project"
)

// RenderShell returns the expression of the app's development shell
// (`nix-docker shell`): the same let bindings as Render (the package set,
// the files, the nix() expressions), so every store path is the image's,
// and as its value pkgs.mkShell with
//
//   - packages: every package and nix() expression the services name (in
//     their commands, environments, directories and ready commands), in
//     the order the services (sorted by name) first use them;
//   - shellHook: the image's environment, and the search paths the
//     services set (variables whose names end in PATH, such as NODE_PATH),
//     each joined over the services with ':'; PATH goes in front of the
//     shell's own.
func RenderShell(p *project.Project, opts Options) ([]byte, error) {
	r := newRenderer(p)
	var b bytes.Buffer
	writeHeader(&b, p, opts)
	if err := r.writeFiles(&b); err != nil {
		return nil, err
	}
	if err := r.writeNix(&b); err != nil {
		return nil, err
	}
	var pkgs []string
	for _, ref := range shellPackages(p) {
		s, err := r.ref(ref)
		if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, s)
	}
	hook, err := r.shellHook()
	if err != nil {
		return nil, err
	}
	b.WriteString("in\npkgs.mkShell {\n  name = \"nix-docker-shell\";\n")
	fmt.Fprintf(&b, "  packages = [ %s ];\n", strings.Join(pkgs, " "))
	fmt.Fprintf(&b, "  shellHook = %s;\n}\n", hook)
	return b.Bytes(), nil
}

// shellPackages lists the package and nix() references the services use,
// each once.
func shellPackages(p *project.Project) []*project.Ref {
	var out []*project.Ref
	seen := map[*project.Ref]bool{}
	add := func(s string) {
		for _, part := range p.Split(s) {
			if r := part.Ref; r != nil && (r.Kind == project.PkgRef || r.Kind == project.NixRef) && !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	for _, s := range p.Services {
		add(s.Command)
		add(s.Directory)
		for _, k := range sortedEnv(s.Environment) {
			add(s.Environment[k])
		}
		if s.Ready != nil {
			add(s.Ready.Command)
		}
	}
	return out
}

func sortedEnv(env map[string]string) []string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// shellHook renders the shell's exports as a Nix string of shell lines.
func (r *renderer) shellHook() (string, error) {
	vars := map[string][]string{}
	var names []string
	set := func(name, value string) {
		if _, ok := vars[name]; !ok {
			names = append(names, name)
		}
		for _, v := range vars[name] {
			if v == value {
				return
			}
		}
		vars[name] = append(vars[name], value)
	}
	for _, e := range r.p.Env {
		set(e.Name, e.Value)
	}
	for _, s := range r.p.Services {
		for _, k := range sortedEnv(s.Environment) {
			if strings.HasSuffix(k, "PATH") {
				for _, v := range strings.Split(s.Environment[k], ":") {
					if v != "" {
						set(k, v)
					}
				}
			}
		}
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('"')
	for _, name := range names {
		value := strings.Join(vars[name], ":")
		if name == "PATH" {
			value += ":"
		}
		word, err := r.shellWord(value)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "export %s=%s", name, word)
		if name == "PATH" {
			b.WriteString(`\"\$PATH\"`)
		}
		b.WriteString("\n")
	}
	b.WriteByte('"')
	return b.String(), nil
}

// shellWord renders s as one single-quoted shell word inside a Nix
// string: literal parts with each quote written as quote-backslash-quote-quote, references as Nix
// interpolations (store paths hold no quotes).
func (r *renderer) shellWord(s string) (string, error) {
	var b strings.Builder
	b.WriteByte('\'')
	for _, part := range r.p.Split(s) {
		if part.Ref == nil {
			lit, err := escape(strings.ReplaceAll(part.Lit, "'", `'\''`))
			if err != nil {
				return "", err
			}
			b.WriteString(lit)
			continue
		}
		ref, err := r.ref(part.Ref)
		if err != nil {
			return "", err
		}
		b.WriteString("${" + ref + "}")
	}
	b.WriteByte('\'')
	return b.String(), nil
}
