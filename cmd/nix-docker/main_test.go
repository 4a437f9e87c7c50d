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

func TestSourceURL(t *testing.T) {
	for remote, want := range map[string]string{
		"https://github.com/o/r.git":         "https://github.com/o/r",
		"https://user:token@git.example/o/r": "https://git.example/o/r",
		"http://git.example:8080/o/r":        "http://git.example:8080/o/r",
		"ssh://git@git.example:2222/o/r.git": "https://git.example/o/r",
		"git@github.com:o/r.git":             "https://github.com/o/r",
		"/srv/git/r.git":                     "",
		"file:///srv/git/r.git":              "",
		"":                                   "",
	} {
		if got := sourceURL(remote); got != want {
			t.Errorf("sourceURL(%q) = %q, want %q", remote, got, want)
		}
	}
}

func TestAnnotationsTitle(t *testing.T) {
	for ref, want := range map[string]string{
		"127.0.0.1:5000/demo/webapp:v1": "demo/webapp",
		"localhost/webapp":              "webapp",
		"reg.example/team/app":          "team/app",
		"user/app:v2":                   "user/app",
	} {
		if got := annotations(filepath.Join(t.TempDir(), "app.hcl"), ref)["org.opencontainers.image.title"]; got != want {
			t.Errorf("title of %s = %q, want %q", ref, got, want)
		}
	}
}

// TestPushUsage: --push and --insecure are refused where they mean
// nothing, with exit code 2.
func TestPushUsage(t *testing.T) {
	t.Setenv("NIX_DOCKER_INIT", "/bin/true")
	file := filepath.Join(t.TempDir(), "app.hcl")
	os.WriteFile(file, []byte("service \"x\" {\n  command = \"/bin/true\"\n}\n"), 0o644)
	for _, args := range [][]string{
		{"--push", "127.0.0.1:5000/app", file},
		{"-b", "-t", "app", "--insecure", file},
		{"-b", "--push", "127.0.0.1:5000/App:v1", file},
	} {
		if _, errs, code := runCLI(t, args...); code == 0 || !strings.Contains(errs, "push") {
			t.Errorf("nix-docker %v = %d %q, want a refusal naming --push", args, code, errs)
		}
	}
}

// TestPruneCacheOnly: prune without NAME trims the layer cache only (no
// engine needed) and removes the whole-tar cache of earlier versions.
func TestPruneCacheOnly(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	legacy := filepath.Join(cache, "nix-docker", "layers")
	os.MkdirAll(legacy, 0o755)
	os.WriteFile(filepath.Join(legacy, "0123.tar"), make([]byte, 4096), 0o644)
	_, errs, code := runCLI(t, "prune")
	if code != 0 || !strings.Contains(errs, "layer cache: 0 record(s) removed") || !strings.Contains(errs, "4.0 KiB of old layer tars removed") {
		t.Errorf("prune = %d %q", code, errs)
	}
	if _, err := os.Stat(legacy); err == nil {
		t.Error("the old cache of layer tars is still there")
	}
}

// TestLoadViaUsage: --load-via takes archive, partial or registry, and
// only for a load into the engine; a wrong use is a usage error (exit 2)
// before anything is built.
func TestLoadViaUsage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "app.hcl")
	os.WriteFile(file, []byte("service \"x\" {\n  command = \"/bin/true\"\n}\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-b", "-t", "app", "--load-via", "ftp", file}, `--load-via "ftp": want archive, partial or registry`},
		{[]string{"-b", "-t", "app", "--load-via", "registry", "-o", filepath.Join(dir, "x.tar"), file}, "--load-via needs a load into the engine"},
	} {
		_, errs, code := runCLI(t, append([]string{"--init", "/bin/true"}, c.args...)...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("nix-docker %s = %d %q, want 2 and %q", strings.Join(c.args, " "), code, errs, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.tar")); err == nil {
		t.Errorf("a usage error wrote the archive")
	}
}

// TestAllowPath: path() outside the app file's directory is an error
// with its position, unless --allow-path names the directory.
func TestAllowPath(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "app"), 0o755)
	os.MkdirAll(filepath.Join(dir, "shared"), 0o755)
	os.WriteFile(filepath.Join(dir, "shared", "logo.png"), []byte("png"), 0o644)
	app := filepath.Join(dir, "app", "app.hcl")
	os.WriteFile(app, []byte("service \"x\" {\n  command = \"/bin/cat ${path(\"../shared/logo.png\")}\"\n}\n"), 0o644)
	_, errs, code := runCLI(t, "check", app)
	if code != 1 || !strings.Contains(errs, "app.hcl:2:") || !strings.Contains(errs, "--allow-path") {
		t.Errorf("check = %d, stderr:\n%s\nwant an error at line 2 naming --allow-path", code, errs)
	}
	for _, cmd := range []string{"check", "nix"} {
		if out, errs, code := runCLI(t, cmd, "--allow-path", filepath.Join(dir, "shared"), app); code != 0 || out == "" {
			t.Errorf("%s --allow-path = %d, stderr:\n%s", cmd, code, errs)
		}
	}
}
