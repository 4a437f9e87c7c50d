package nixexpr_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/nixexpr"
	"github.com/nix-docker/nix-docker/internal/project"
	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/internal/testutil"
	"github.com/nix-docker/nix-docker/schema"
)

// render loads src as an app file named name in a fresh directory and
// renders it.
func render(t *testing.T, name, src string, opts nixexpr.Options) (string, *project.Project) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, diags := project.Load(schema.NewParser(), file)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	expr, err := nixexpr.Render(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return string(expr), p
}

// evalRunspec evaluates the expression's runspec with the real Nix,
// given a package set, and returns it decoded.
func evalRunspec(t *testing.T, expr, pkgs string) runspec.Spec {
	t.Helper()
	file := filepath.Join(t.TempDir(), "default.nix")
	if err := os.WriteFile(file, []byte(expr), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("nix-instantiate", "--eval", "--read-write-mode", "--strict", "--json", "-E",
		"(import "+file+" { pkgs = "+pkgs+"; }).drvAttrs.runspec").CombinedOutput()
	if err != nil {
		t.Fatalf("nix-instantiate: %v\n%s\n%s", err, out, expr)
	}
	var text string
	var sp runspec.Spec
	if err := json.Unmarshal(out, &text); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(text), &sp); err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestNixBodyEndsOnItsLine: a # comment in a nix() body comments out the
// rest of the body's line only, never the rendered text after it.
func TestNixBodyEndsOnItsLine(t *testing.T) {
	testutil.NeedNix(t)
	expr, _ := render(t, "app.hcl", `service "x" {
  command = "${nix("pkgs.hello # the hello package")}/bin/hello --greeting hi"
}
`, nixexpr.Options{InitPath: "/nix-docker-init"})
	sp := evalRunspec(t, expr, `{ hello = "/nix/store/00000000000000000000000000000000-hello"; }`)
	if got, want := sp.Services[0].Command, "/nix/store/00000000000000000000000000000000-hello/bin/hello --greeting hi"; got != want {
		t.Errorf("command in Nix = %q, want %q", got, want)
	}
}

// TestFileNameNotInExpression: the app file's name may hold anything (a
// newline, Nix code); it never reaches the expression.
func TestFileNameNotInExpression(t *testing.T) {
	name := "app\n}; builtins.abort \"injected\"; #.hcl"
	opts := nixexpr.Options{InitPath: "/nix-docker-init", Source: name}
	expr, _ := render(t, name, `nixpkgs {
  path = "."
}
service "x" {
  command = "/bin/true"
}
`, opts)
	if strings.Contains(expr, "injected") || strings.Contains(expr, "app\n") {
		t.Fatalf("the file name reached the expression:\n%s", expr)
	}
	testutil.NeedNix(t)
	sp := evalRunspec(t, expr, "{ }")
	if sp.Services[0].Command != "/bin/true" {
		t.Errorf("runspec = %+v", sp)
	}
}

// TestPathFilter copies a directory with the real Nix: .git and what
// .nix-dockerignore lists are left out, the store path depends only on
// what is copied, and changing an ignored file leaves it as it was.
func TestPathFilter(t *testing.T) {
	testutil.NeedNix(t)
	dir := t.TempDir()
	for name, text := range map[string]string{
		".nix-dockerignore":     "**/*.log\n**/node_modules\n",
		"www/index.html":        "hello\n",
		"www/debug.log":         "noise\n",
		"www/.git/config":       "[core]\n",
		"www/node_modules/x.js": "x\n",
		"www/sub/page.html":     "page\n",
	} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := "service \"x\" {\n  command = \"${path(\"www\")}/index.html\"\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "app.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	storePath := func() (string, []string) {
		p, diags := project.Load(schema.NewParser(), filepath.Join(dir, "app.hcl"))
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		expr, err := nixexpr.Render(p, nixexpr.Options{InitPath: "/nix-docker-init"})
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "default.nix")
		os.WriteFile(file, expr, 0o644)
		// The command's store path, and what the copy holds.
		out, err := exec.Command("nix-instantiate", "--eval", "--strict", "--json", "--read-write-mode", "-E", `
			let s = builtins.fromJSON (builtins.unsafeDiscardStringContext (import `+file+` { pkgs = { }; }).drvAttrs.runspec);
			    dir = builtins.dirOf (builtins.head s.services).command;
			    walk = d: builtins.concatLists (builtins.attrValues (builtins.mapAttrs
			      (n: t: if t == "directory" then map (x: n + "/" + x) (walk (d + "/" + n)) else [ n ])
			      (builtins.readDir d)));
			in [ dir ] ++ walk dir`).CombinedOutput()
		if err != nil {
			t.Fatalf("nix-instantiate: %v\n%s", err, out)
		}
		var got []string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		return got[0], got[1:]
	}
	first, files := storePath()
	if strings.Join(files, " ") != "index.html sub/page.html" {
		t.Errorf("the copy holds %v, want index.html and sub/page.html only", files)
	}
	os.WriteFile(filepath.Join(dir, "www/debug.log"), []byte("more noise\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "www/.git/config"), []byte("[other]\n"), 0o644)
	if again, _ := storePath(); again != first {
		t.Errorf("changing ignored files changed the store path: %s, then %s", first, again)
	}
	os.WriteFile(filepath.Join(dir, "www/index.html"), []byte("changed\n"), 0o644)
	if again, _ := storePath(); again == first {
		t.Errorf("changing a copied file left the store path %s", first)
	}
}

// FuzzLoadRender loads generated app files and renders them, without
// Nix: nothing panics, and no internal placeholder reaches the
// expression, the plan or what goes to the image config directly.
// scripts/test runs it for a bounded time.
func FuzzLoadRender(f *testing.F) {
	examples, _ := filepath.Glob("../../examples/*/app.hcl")
	invalid, _ := filepath.Glob("../project/testdata/invalid/*.hcl")
	for _, file := range append(examples, invalid...) {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b))
		}
	}
	for _, s := range []string{
		"service \"x\" {\n  command = \"${substr(pkgs.a, 0, 3)}\"\n}\n",
		"service \"x\" {\n  command = \"${nix(\"pkgs.a # c\")} \\u0000\"\n}\n",
		"image {\n  volumes = [\"/${pkgs.a}\"]\n  links = { \"/x/${pkgs.a}\" = pkgs.b }\n}\nservice \"x\" { command = \"\\xff\" }\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte("x"), 0o644)
	f.Fuzz(func(t *testing.T, src string) {
		file := filepath.Join(dir, "app.hcl")
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		p, diags := project.Load(schema.NewParser(), file)
		for _, d := range diags {
			if strings.ContainsAny(d.Summary+d.Detail, "\uE000\uE001") {
				t.Fatalf("a diagnostic shows a placeholder: %s", d.Error())
			}
		}
		if p == nil {
			return
		}
		expr, err := nixexpr.Render(p, nixexpr.Options{InitPath: "/nix-docker-init", Source: "app.hcl"})
		if err != nil {
			return
		}
		direct := []string{string(expr), p.Describe()}
		direct = append(direct, p.Volumes...)
		for _, l := range p.Links {
			direct = append(direct, l.Path)
		}
		for _, e := range p.Env {
			direct = append(direct, e.Name)
		}
		for _, s := range direct {
			if strings.ContainsAny(s, "\uE000\uE001") {
				t.Fatalf("a placeholder reached the output: %q", s)
			}
		}
	})
}

// TestNixBodyCannotBreakOut: a nix() body is parsed on its own, so one
// that closes the brackets around it, or opens a string or comment it
// does not close, is a Nix syntax error in its own file and never code
// of the expression around it. The bodies are the reviewer's reproducers:
// one closes the `nix` set and adds a binding of its own, one supplies
// its own argument set in place of the bindings.
func TestNixBodyCannotBreakOut(t *testing.T) {
	testutil.NeedNix(t)
	for _, body := range []string{
		`pkgs.hello); }; injected = builtins.trace \"INJECTED\" (x: x); z = { a = (1`,
		`pkgs.hello /* the rest of the expression`,
		`pkgs.hello + ''`,
		`src) { src = \"/etc\"; }) ({ src }: (src`,
	} {
		args := ""
		if strings.HasPrefix(body, "src") {
			args = `, { src = "app" }`
		}
		expr, _ := render(t, "app.hcl", `service "x" {
  command = "${nix("`+body+`"`+args+`)}/bin/hello"
}
`, nixexpr.Options{InitPath: "/nix-docker-init"})
		file := filepath.Join(t.TempDir(), "default.nix")
		if err := os.WriteFile(file, []byte(expr), 0o644); err != nil {
			t.Fatal(err)
		}
		// The whole expression still parses: the body cannot touch it.
		if out, err := exec.Command("nix-instantiate", "--parse", file).CombinedOutput(); err != nil {
			t.Errorf("body %q: the expression around it does not parse: %v\n%s", body, err, out)
			continue
		}
		out, err := exec.Command("nix-instantiate", "--eval", "--read-write-mode", "--strict", "--json", "-E",
			"(import "+file+" { pkgs = { hello = \"/nix/store/00000000000000000000000000000000-hello\"; }; }).drvAttrs.runspec").CombinedOutput()
		if err == nil || strings.Contains(string(out), "trace: INJECTED") || !strings.Contains(string(out), "syntax error") || !strings.Contains(string(out), "nix-docker-expr.nix") {
			t.Errorf("body %q: evaluation = %v\n%s\nwant a syntax error in the body's own file", body, err, out)
		}
	}
}
