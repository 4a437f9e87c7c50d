package project

import (
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/nix-docker/nix-docker/schema"
)

// File is a generated file in the store.
type File struct {
	Key        string // unique: "<module instance>-<label>", or "<label>" in the app file
	Name       string // the store path's name, e.g. "httpd.conf"
	Text       string // may hold placeholders
	Executable bool
	// Check is a command line run at build time; "$out" in it stands for
	// the file. A failing check fails the build.
	Check      string
	DeclRange  hcl.Range
	CheckRange hcl.Range
}

var storeName = regexp.MustCompile(`^[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]*$`)

func (l *loader) addGeneratedFile(sc *scope, fb *schema.FileBlock) {
	file := File{Key: l.name(sc, fb.Name), Name: fb.Name, DeclRange: fb.DeclRange}
	if n, a, ok := l.str(sc, fb.Attrs, "name"); ok {
		if !storeName.MatchString(n) || len(n) > 200 {
			l.errorf(a.Expr.Range(), "Invalid file name", "A file name may hold letters, digits and + . _ ? = -, and must not start with a dot; %q does not fit.", n)
			return
		}
		file.Name = n
	}
	text, _, ok := l.str(sc, fb.Attrs, "text")
	if !ok {
		return
	}
	file.Text = text
	file.Executable, _ = l.boolean(sc, fb.Attrs, "executable")
	if c, a, ok := l.str(sc, fb.Attrs, "check"); ok {
		if strings.TrimSpace(c) == "" || strings.ContainsRune(c, 0) {
			l.errorf(a.Expr.Range(), "Invalid check", "A check is a command line run at build time, such as \"${pkgs.nginx}/bin/nginx -t -c $out\"; $out stands for the file.")
		}
		file.Check = c
		file.CheckRange = a.Expr.Range()
	}
	if sc.instance != "" {
		// A module's file fails its check because of the values the
		// module was given: point at the module block.
		file.DeclRange, file.CheckRange = sc.decl, sc.decl
	}
	l.proj.Files = append(l.proj.Files, file)
}
