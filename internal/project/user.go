package project

import (
	"fmt"
	"strings"

	"github.com/nix-docker/nix-docker/internal/quote"
	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/schema"
)

func (l *loader) addUser(sc *scope, u *schema.User) {
	uid, ok := l.integer(sc, u.Attrs, "uid", 0, 1<<31-1)
	if !ok {
		return
	}
	user := runspec.User{Name: u.Name, UID: uid, GID: uid, Home: "/var/empty"}
	for _, have := range l.proj.Users {
		if have.UID == uid && have.Name != u.Name {
			l.errorf(u.DeclRange, "Duplicate uid", "User %q has uid %d, already used by user %q.", u.Name, uid, have.Name)
			return
		}
	}
	if _, present := u.Attrs["gid"]; present {
		gid, ok := l.integer(sc, u.Attrs, "gid", 0, 1<<31-1)
		if !ok {
			return
		}
		user.GID = gid
	} else {
		// Like NixOS' user groups: a group of the user's name and id.
		l.putGroup(runspec.Group{Name: u.Name, GID: uid}, u.DeclRange)
	}
	if home, a, ok := l.str(sc, u.Attrs, "home"); ok {
		if err := quote.CheckPath(home); err != nil || strings.Contains(home, ":") {
			l.errorf(a.Expr.Range(), "Invalid home directory", "A home directory is an absolute, clean path without control characters or ':' (it is a field of /etc/passwd), such as \"/var/lib/app\"; %q is not.", home)
		}
		user.Home = home
	}
	if groups, a, ok := l.strList(sc, u.Attrs, "groups"); ok {
		for _, g := range groups {
			gid := -1
			for _, have := range l.proj.Groups {
				if have.Name == g {
					gid = have.GID
				}
			}
			if gid < 0 {
				l.errorf(a.Expr.Range(), "Unknown group", "User %q is in group %q, which is not declared.%s", u.Name, g, suggest(g, l.groupNames()))
				continue
			}
			user.Groups = append(user.Groups, gid)
		}
	}
	for _, have := range l.proj.Users {
		if have.Name == user.Name {
			if fmt.Sprint(have) != fmt.Sprint(user) {
				l.errorf(u.DeclRange, "Conflicting user", "User %q is declared differently at %s.", user.Name, l.decls[decl{"user", user.Name}])
			}
			return
		}
		if have.UID == user.UID {
			l.errorf(u.DeclRange, "Duplicate uid", "User %q has uid %d, already used by user %q.", user.Name, user.UID, have.Name)
			return
		}
	}
	l.decls[decl{"user", user.Name}] = u.DeclRange
	l.proj.Users = append(l.proj.Users, user)
}
