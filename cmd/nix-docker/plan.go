package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/nix-docker/nix-docker/internal/project"
)

// printPlan prints what the image will hold, in start order.
func printPlan(w io.Writer, p *project.Project) {
	order, _ := p.Spec().StartOrder()
	fmt.Fprintf(w, "%s: %d services\n", p.File, len(order))
	for _, name := range order {
		s := p.Service(name)
		fmt.Fprintf(w, "  service %s\n    command: %s\n", name, show(p, s.Command))
		if len(s.After) > 0 {
			fmt.Fprintf(w, "    after: %s\n", strings.Join(s.After, ", "))
		}
		if s.User != "" {
			fmt.Fprintf(w, "    user: %s\n", s.User)
		}
		if s.Ready != nil && s.Ready.TCP != 0 {
			fmt.Fprintf(w, "    ready: tcp %d\n", s.Ready.TCP)
		}
	}
	for _, f := range p.Files {
		fmt.Fprintf(w, "  file %s (%s)\n", f.Key, f.Name)
	}
	if len(p.Ports) > 0 {
		fmt.Fprintf(w, "  ports: %v\n", p.Ports)
	}
	if len(p.Volumes) > 0 {
		fmt.Fprintf(w, "  volumes: %s\n", strings.Join(p.Volumes, ", "))
	}
}

// show renders a string with its references spelled as in HCL.
func show(p *project.Project, s string) string {
	var b strings.Builder
	for _, part := range p.Split(s) {
		if part.Ref != nil {
			ref := *part.Ref
			if rel, err := filepath.Rel(p.Dir, ref.Path); ref.Kind == project.PathRef && err == nil && !strings.HasPrefix(rel, "..") {
				ref.Path = filepath.ToSlash(rel) // as written in the HCL file
			}
			b.WriteString("${" + ref.String() + "}")
		} else {
			b.WriteString(part.Lit)
		}
	}
	return b.String()
}
