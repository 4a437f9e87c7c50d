package project_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/nix-docker/nix-docker/internal/project"
	"github.com/nix-docker/nix-docker/schema"
)

// tree writes files (name -> text; a text starting with "->" makes a
// symlink to the rest) under a new directory and returns it.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(text, "->"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(text), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadPath loads app/app.hcl under root, whose service uses path(rel).
func loadPath(t *testing.T, root, rel string, opts project.Options) (*project.Project, hcl.Diagnostics) {
	t.Helper()
	file := filepath.Join(root, "app", "app.hcl")
	src := "service \"x\" {\n  command = \"/bin/cat ${path(\"" + rel + "\")}\"\n}\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return project.LoadWith(schema.NewParser(), file, opts)
}

// TestPathStaysInside: path() copies only what lies in the app file's
// directory, symlinks resolved, unless --allow-path names the directory
// it lies in.
func TestPathStaysInside(t *testing.T) {
	root := tree(t, map[string]string{
		"app/www/index.html": "hi",
		"app/escape":         "->../secret",
		"app/www/passwd":     "->/etc/passwd",
		"app/etc":            "->/etc",
		"secret/key":         "k",
		"shared/logo.png":    "png",
	})
	up, _ := filepath.Rel(filepath.Join(root, "app"), "/etc/passwd")
	for _, rel := range []string{"../secret/key", up, "escape", "escape/key", "www/passwd", "etc", "etc/hostname"} {
		p, diags := loadPath(t, root, rel, project.Options{})
		if p != nil || !strings.Contains(diags.Error(), "outside the app file's directory") || diags[0].Subject == nil || diags[0].Subject.Start.Line != 2 {
			t.Errorf("path(%q): %v, want an error at the call: outside the app file's directory", rel, diags)
		}
	}
	if p, diags := loadPath(t, root, "www", project.Options{}); p == nil {
		t.Errorf("path(\"www\") (which holds a link out, copied as a link): %v", diags)
	}
	opts := project.Options{AllowPaths: []string{filepath.Join(root, "shared")}}
	if p, diags := loadPath(t, root, "../shared/logo.png", opts); p == nil {
		t.Errorf("path(\"../shared/logo.png\") with --allow-path %s: %v", opts.AllowPaths[0], diags)
	}
	if p, _ := loadPath(t, root, "../secret/key", opts); p != nil {
		t.Errorf("--allow-path %s let path() read ../secret", opts.AllowPaths[0])
	}
}

// TestPathFilterAndSecrets: a copied directory leaves out .git and what
// .nix-dockerignore lists; a path() naming such a file is an error; files
// that look like secrets are warned about at the call.
func TestPathFilterAndSecrets(t *testing.T) {
	root := tree(t, map[string]string{
		"app/.nix-dockerignore":       "# local files\nwww/*.log\n**/node_modules\n!www/node_modules/keep.js\nprivate.env\n",
		"app/private.env":             "TOKEN=x",
		"app/www/index.html":          "hi",
		"app/www/debug.log":           "x",
		"app/www/.git/config":         "[core]",
		"app/www/node_modules/a.js":   "a",
		"app/www/.env":                "PASSWORD=x",
		"app/www/certs/server.pem":    "cert",
		"app/www/keys/id_ed25519":     "key",
		"app/www/keys/id_ed25519.pub": "pub",
		"app/www/notes.txt":           "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n",
		"app/www/aws.js":              "const id = 'AKIAIOSFODNN7EXAMPLE';",
	})
	p, diags := loadPath(t, root, "www", project.Options{})
	if p == nil {
		t.Fatal(diags.Error())
	}
	var ref *project.Ref
	for _, part := range p.Split(p.Services[0].Command) {
		if part.Ref != nil {
			ref = part.Ref
		}
	}
	app := filepath.Join(root, "app")
	var excluded []string
	for _, e := range ref.Exclude {
		rel, _ := filepath.Rel(app, e)
		excluded = append(excluded, rel)
	}
	if got := strings.Join(excluded, " "); got != "www/.git www/debug.log www/node_modules" {
		t.Errorf("excluded %q, want www/.git www/debug.log www/node_modules", got)
	}
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || diags[0].Subject == nil || diags[0].Subject.Start.Line != 2 {
		t.Fatalf("diagnostics %v, want one warning at the path() call", diags)
	}
	for _, want := range []string{"www/.env", "www/aws.js", "www/certs/server.pem", "www/keys/id_ed25519", "www/notes.txt"} {
		if !strings.Contains(diags[0].Detail, want) {
			t.Errorf("warning %q does not name %s", diags[0].Detail, want)
		}
	}
	for _, not := range []string{"index.html", "id_ed25519.pub", "debug.log"} {
		if strings.Contains(diags[0].Detail, not) {
			t.Errorf("warning %q names %s", diags[0].Detail, not)
		}
	}
	for _, rel := range []string{"private.env", "www/.git", "www/debug.log"} {
		if p, diags := loadPath(t, root, rel, project.Options{}); p != nil || !strings.Contains(diags.Error(), "excluded") {
			t.Errorf("path(%q): %v, want an error: excluded", rel, diags)
		}
	}
}
