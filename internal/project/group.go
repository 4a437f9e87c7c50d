package project

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/schema"
)

func (l *loader) addGroup(sc *scope, g *schema.Group) {
	gid, ok := l.integer(sc, g.Attrs, "gid", 0, 1<<31-1)
	if !ok {
		return
	}
	l.putGroup(runspec.Group{Name: g.Name, GID: gid}, g.DeclRange)
}

func (l *loader) putGroup(g runspec.Group, rng hcl.Range) {
	for _, have := range l.proj.Groups {
		if have.Name == g.Name {
			if have.GID != g.GID {
				l.errorf(rng, "Conflicting group", "Group %q is declared with gid %d here and gid %d at %s.", g.Name, g.GID, have.GID, l.decls[decl{"group", g.Name}])
			}
			return
		}
		if have.GID == g.GID {
			l.errorf(rng, "Duplicate gid", "Group %q has gid %d, already used by group %q.", g.Name, g.GID, have.Name)
			return
		}
	}
	l.decls[decl{"group", g.Name}] = rng
	l.proj.Groups = append(l.proj.Groups, g)
}
