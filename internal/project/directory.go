package project

import (
	"strconv"

	"github.com/nix-docker/nix-docker/internal/quote"
	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/schema"
)

func (l *loader) addDirectory(sc *scope, d *schema.Directory) {
	p, a, ok := l.str(sc, d.Attrs, "path")
	if !ok {
		return
	}
	if quote.CheckPath(p) != nil || p == "/" {
		l.errorf(a.Expr.Range(), "Invalid directory path", "A directory is an absolute, clean path inside the container, without control characters, such as \"/data\"; %q is not.", p)
		return
	}
	dir := runspec.Directory{Path: p, Mode: 0o755}
	if u, a, ok := l.str(sc, d.Attrs, "user"); ok {
		dir.User = u
		l.decls[decl{"directory user", p}] = a.Expr.Range()
	}
	if g, _, ok := l.str(sc, d.Attrs, "group"); ok {
		dir.Group = g
	}
	if m, a, ok := l.str(sc, d.Attrs, "mode"); ok {
		n, err := strconv.ParseUint(m, 8, 32)
		if err != nil || n > 0o7777 {
			l.errorf(a.Expr.Range(), "Invalid mode", "A mode is an octal string such as \"0750\", not %q.", m)
		} else {
			dir.Mode = uint32(n)
		}
	}
	for _, have := range l.proj.Directories {
		if have.Path == dir.Path {
			if have != dir {
				l.errorf(d.DeclRange, "Conflicting directory", "Directory %s is declared differently at %s.", p, l.decls[decl{"directory", p}])
			}
			return
		}
	}
	l.decls[decl{"directory", p}] = d.DeclRange
	l.proj.Directories = append(l.proj.Directories, dir)
}
