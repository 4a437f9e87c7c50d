package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/project"
)

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestModulesNixOS: every built-in module names its NixOS counterpart, and
// every option says which NixOS option it maps onto (or that NixOS has
// none), so docs/modules.md carries the mapping.
func TestModulesNixOS(t *testing.T) {
	docs, diags := project.BuiltinDocs()
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := map[string]string{
		"httpd": "`services.httpd`", "lighttpd": "`services.lighttpd`", "mysql": "`services.mysql`",
		"nginx": "`services.nginx`", "php-fpm": "`services.phpfpm.pools.<name>`",
		"postgresql": "`services.postgresql`", "redis": "`services.redis.servers.<name>`",
		"static-site": "`services.nginx.virtualHosts.<name>`",
		"node":        "none",
	}
	for _, d := range docs {
		counterpart, ok := want[d.Name]
		if !ok {
			t.Errorf("module %s: no NixOS counterpart known to this test; add it", d.Name)
		} else if !strings.Contains(d.Summary, "NixOS counterpart: "+counterpart) {
			t.Errorf("module %s: its header comment does not say \"NixOS counterpart: %s\":\n%s", d.Name, counterpart, d.Summary)
		}
		for _, o := range d.Options {
			if !strings.Contains(o.Description, "NixOS: `") && !strings.Contains(o.Description, "NixOS has no such option") {
				t.Errorf("module %s, option %s: the description names no NixOS option (\"NixOS: `...`\" or \"NixOS has no such option\"): %q", d.Name, o.Name, o.Description)
			}
		}
	}
}

// TestModulesDoc keeps docs/modules.md equal to `nix-docker options`.
func TestModulesDoc(t *testing.T) {
	out, errs, code := runCLI(t, "options")
	if code != 0 {
		t.Fatalf("options: exit %d: %s", code, errs)
	}
	want, err := os.ReadFile("../../docs/modules.md")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("docs/modules.md is out of date: run `go run ./cmd/nix-docker options > docs/modules.md`")
	}
	for _, m := range []string{"## redis", "## httpd", "`document_root` | `string` | (required)"} {
		if !strings.Contains(out, m) {
			t.Errorf("options output lacks %q", m)
		}
	}
	one, _, code := runCLI(t, "options", "redis")
	if code != 0 || !strings.Contains(one, "## redis") || strings.Contains(one, "## httpd") {
		t.Errorf("options redis = %d %q", code, one)
	}
	if _, errs, code := runCLI(t, "options", "rediss"); code != 1 || !strings.Contains(errs, "no built-in module") {
		t.Errorf("options rediss = %d %q", code, errs)
	}
}

func TestFmt(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "app.hcl")
	messy := "service \"x\" {\ncommand=\"/bin/true\"\n    user =   \"nobody\"\n}\n"
	os.WriteFile(file, []byte(messy), 0o644)
	if out, _, code := runCLI(t, "fmt", "-check", file); code != 1 || !strings.Contains(out, file) {
		t.Errorf("fmt -check on a messy file = %d %q, want 1 and its name", code, out)
	}
	if b, _ := os.ReadFile(file); string(b) != messy {
		t.Errorf("fmt -check changed the file")
	}
	if _, errs, code := runCLI(t, "fmt", file); code != 0 {
		t.Fatalf("fmt: %d %s", code, errs)
	}
	want := "service \"x\" {\n  command = \"/bin/true\"\n  user    = \"nobody\"\n}\n"
	if b, _ := os.ReadFile(file); string(b) != want {
		t.Errorf("fmt wrote %q, want %q", b, want)
	}
	if out, _, code := runCLI(t, "fmt", "-check", file); code != 0 || out != "" {
		t.Errorf("fmt -check after fmt = %d %q", code, out)
	}
	bad := filepath.Join(dir, "bad.hcl")
	os.WriteFile(bad, []byte("service \"x\" {\n"), 0o644)
	if _, errs, code := runCLI(t, "fmt", bad); code != 1 || !strings.Contains(errs, "bad.hcl:1:13: error:") {
		t.Errorf("fmt on a syntax error = %d %q, want 1 and the position", code, errs)
	}
	// The built-in modules and examples are formatted.
	files, _ := filepath.Glob("../../modules/*.hcl")
	examples, _ := filepath.Glob("../../examples/*/*.hcl")
	if out, _, code := runCLI(t, append([]string{"fmt", "-check"}, append(files, examples...)...)...); code != 0 {
		t.Errorf("not formatted (run nix-docker fmt on them):\n%s", out)
	}
}

func TestCheck(t *testing.T) {
	out, errs, code := runCLI(t, "check", "../../examples/webapp/app.hcl")
	if code != 0 {
		t.Fatalf("check: %d %s", code, errs)
	}
	for _, want := range []string{"3 services", "service app", "after: redis", "command: node server.js", "directory: ${nix(\"pkgs.runCommand name { inherit src nodeModules; ...\")}", "ports: [80 6379 8080]"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hcl")
	os.WriteFile(bad, []byte("service \"x\" {\n  command = 42\n  user = 7\n}\n"), 0o644)
	_, errs, code = runCLI(t, "check", bad)
	if code != 1 || strings.Count(errs, ": error: ") != 2 || !strings.Contains(errs, "bad.hcl:2:13: error: Incorrect value type") {
		t.Errorf("check bad.hcl = %d, stderr:\n%s\nwant both errors, with positions", code, errs)
	}
	if _, _, code := runCLI(t, "check"); code != 2 {
		t.Errorf("check without a file = %d, want 2", code)
	}
}
