package project

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Describe says in words what the image will hold, services in start
// order: the plan `nix-docker check` prints.
func (p *Project) Describe() string {
	var w strings.Builder
	order, _ := p.Spec().StartOrder()
	fmt.Fprintf(&w, "%s: %d services\n", p.File, len(order))
	for _, name := range order {
		s := p.Service(name)
		fmt.Fprintf(&w, "  service %s\n    command: %s\n", name, p.show(s.Command))
		if s.Directory != "" {
			fmt.Fprintf(&w, "    directory: %s\n", p.show(s.Directory))
		}
		if len(s.After) > 0 {
			fmt.Fprintf(&w, "    after: %s\n", strings.Join(s.After, ", "))
		}
		if s.User != "" {
			fmt.Fprintf(&w, "    user: %s\n", s.User)
		}
		if s.Ready != nil && s.Ready.TCP != 0 {
			fmt.Fprintf(&w, "    ready: tcp %d\n", s.Ready.TCP)
		}
	}
	for _, f := range p.Files {
		fmt.Fprintf(&w, "  file %s (%s)\n", f.Key, f.Name)
	}
	if len(p.Ports) > 0 {
		fmt.Fprintf(&w, "  ports: %v\n", p.Ports)
	}
	if len(p.Volumes) > 0 {
		fmt.Fprintf(&w, "  volumes: %s\n", strings.Join(p.Volumes, ", "))
	}
	return w.String()
}

// show renders a string with its references spelled as in HCL.
func (p *Project) show(s string) string {
	var b strings.Builder
	for _, part := range p.Split(s) {
		if part.Ref != nil {
			ref := *part.Ref
			if rel, err := filepath.Rel(p.Dir, ref.Path); ref.Kind == PathRef && err == nil && !strings.HasPrefix(rel, "..") {
				ref.Path = filepath.ToSlash(rel) // as written in the HCL file
			}
			if ref.Kind == NixRef {
				ref.Expr = shorten(ref.Expr)
			}
			b.WriteString("${" + ref.String() + "}")
		} else {
			b.WriteString(part.Lit)
		}
	}
	return b.String()
}

// shorten cuts a nix() expression to its first line, at most 48
// characters, for the plan.
func shorten(expr string) string {
	line, _, cut := strings.Cut(strings.TrimSpace(expr), "\n")
	if r := []rune(line); len(r) > 48 {
		line, cut = string(r[:48]), true
	}
	if cut {
		line += "..."
	}
	return line
}
