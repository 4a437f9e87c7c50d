package project

import "testing"

func TestIgnore(t *testing.T) {
	rules := parseIgnore(`
# comments and blank lines are skipped
*.log
/secrets
**/node_modules
docs/**/*.md
!docs/keep.md
build/
tmp?
[ab].txt
\#literal
`)
	for rel, want := range map[string]bool{
		"x.log": true, "www/x.log": false, "secrets": true, "secrets/key": true, "www/secrets": false,
		"node_modules": true, "www/node_modules/a/b.js": true, "docs/a.md": true, "docs/x/y/a.md": true,
		"docs/keep.md": false, "docs/a.txt": false, "build": true, "build/out": true, "tmp1": true, "tmp": false,
		"a.txt": true, "c.txt": false, "#literal": true, "www/index.html": false,
	} {
		if got := rules.excluded(rel); got != want {
			t.Errorf("excluded(%q) = %v, want %v", rel, got, want)
		}
	}
}
