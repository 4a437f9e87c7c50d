package project_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nix-docker/nix-docker/internal/contract"
	"github.com/nix-docker/nix-docker/internal/project"
	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/modules"
	"github.com/nix-docker/nix-docker/schema"
)

// TestNodeProblems: each project the node module cannot build is an
// error at the src value in the app file (file:line:col), whose detail
// names the npm file, its line and the entry.
func TestNodeProblems(t *testing.T) {
	for _, c := range []struct {
		file      string
		line, col int
		want      string
	}{
		{"node-no-lockfile.hcl", 3, 12, "node/no-lockfile/package-lock.json: There is no package-lock.json in"},
		{"node-lockfile-v1.hcl", 3, 12, "node/lockfile-v1/package-lock.json:3: lockfileVersion: This is a lockfile v1 (npm 6 and older)"},
		{"node-out-of-sync.hcl", 3, 12, `node/out-of-sync/package.json:1: dependencies["express"]: package.json asks for express ^5.1.0, which package-lock.json does not list.`},
		{"node-git-dependency.hcl", 3, 12, `node/git-dependency/package-lock.json:7: packages["node_modules/x"]: A git dependency (git+ssh://git@github.com/acme/x.git#2f9a3e1c0b7d4e5f6a7b8c9d0e1f2a3b4c5d6e7f).`},
		{"node-file-dependency.hcl", 3, 12, `node/file-dependency/package-lock.json:8: packages["node_modules/lib"]: A link to ../lib (a file: dependency or a workspace).`},
		{"node-src-not-path.hcl", 3, 12, "given with path(), such as path(\"app\")"},
		{"node-no-start.hcl", 1, 1, "package.json has no scripts.start and no main, and src has no server.js"},
	} {
		t.Run(c.file, func(t *testing.T) {
			_, diags := project.Load(schema.NewParser(), filepath.Join("testdata/invalid", c.file))
			if len(diags) != 1 {
				t.Fatalf("%d diagnostics, want 1: %s", len(diags), diags.Error())
			}
			d := diags[0]
			if d.Subject == nil || d.Subject.Start.Line != c.line || d.Subject.Start.Column != c.col {
				t.Errorf("at %v, want line %d column %d", d.Subject, c.line, c.col)
			}
			if !strings.Contains(d.Detail, c.want) {
				t.Errorf("detail %q, want it to contain %q", d.Detail, c.want)
			}
		})
	}
}

// nodeApp writes an app file using the node module on the project
// testdata/invalid/node/ok (a valid one), copied, with extra files.
func nodeApp(t *testing.T, module string, files map[string]string) *project.Project {
	t.Helper()
	p, diags := nodeLoad(t, module, files)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return p
}

// nodeLoad is nodeApp without the check: the project and the diagnostics.
func nodeLoad(t *testing.T, module string, files map[string]string) (*project.Project, hcl.Diagnostics) {
	t.Helper()
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	os.MkdirAll(app, 0o755)
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join("testdata/invalid/node/ok", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(app, f), b, 0o644)
	}
	for name, text := range files {
		os.WriteFile(filepath.Join(app, name), []byte(text), 0o644)
	}
	file := filepath.Join(dir, "app.hcl")
	os.WriteFile(file, []byte(module), 0o644)
	return project.Load(schema.NewParser(), file)
}

func TestNodeService(t *testing.T) {
	p := nodeApp(t, "module \"web\" {\n  source = \"node\"\n  src = path(\"app\")\n  environment = { NODE_ENV = \"staging\", TZ = \"UTC\" }\n}\n", nil)
	s := p.Service("web")
	if s == nil {
		t.Fatal("no service web")
	}
	if s.Command != "node index.js" || s.User != "nobody" || s.Ready == nil || s.Ready.TCP != 3000 || s.Ready.Timeout != 60 {
		t.Errorf("service = %+v, want node index.js as nobody, ready on 3000 within 60 s", s.Service)
	}
	if s.Environment["NODE_ENV"] != "staging" || s.Environment["TZ"] != "UTC" || s.Environment["PORT"] != "3000" {
		t.Errorf("environment = %v: the module's environment option wins, PORT is set", s.Environment)
	}
	parts := p.Split(s.Environment["PATH"])
	if len(parts) != 4 || parts[0].Ref == nil || parts[0].Ref.Kind != project.NixRef || parts[1].Lit != "/node_modules/.bin:" || parts[2].Ref == nil || parts[2].Ref.String() != "pkgs.nodejs" {
		t.Errorf("PATH = %+v, want the app's node_modules/.bin, then Node.js", parts)
	}
	dir := p.Split(s.Directory)
	if len(dir) != 1 || dir[0].Ref != parts[0].Ref {
		t.Errorf("directory = %+v, want the app's store path (the one on PATH)", dir)
	}
	if len(p.Ports) != 1 || p.Ports[0] != 3000 {
		t.Errorf("ports = %v, want [3000]", p.Ports)
	}
	if m := p.Module("web"); m == nil || m.Source != "builtin:node" {
		t.Errorf("Module(web) = %+v", m)
	}
	// node_modules (NODE_PATH) and the app are built from src.
	if got := len(p.FromApp()); got != 2 {
		t.Errorf("FromApp has %d entries, want 2 (node_modules and the app)", got)
	}
	nm := p.Split(s.Environment["NODE_PATH"])
	if len(nm) != 2 || nm[0].Ref == nil || nm[0].Ref.Kind != project.NixRef {
		t.Fatalf("NODE_PATH = %+v", nm)
	}
	args := nm[0].Ref.Args
	if got := args.GetAttr("registry").AsString(); got != "https://registry.npmjs.org" {
		t.Errorf("registry = %q, want npm's", got)
	}
	if !strings.Contains(nm[0].Ref.Expr, "pkgs.importNpmLock.buildNodeModules") || !strings.Contains(nm[0].Ref.Expr, contract.ModuleAttr+" = instance;") {
		t.Errorf("node_modules expression does not use importNpmLock.buildNodeModules and mark the instance:\n%s", nm[0].Ref.Expr)
	}
}

func TestNodeStart(t *testing.T) {
	for _, c := range []struct {
		start, want string
	}{
		{"node server.js --port 1", "node server.js --port 1"},
		{"node a.js && node b.js", "${pkgs.busybox}/bin/sh -c 'node a.js && node b.js'"},
		{"NODE_OPTIONS=--max-old-space-size=64 node a.js", "${pkgs.busybox}/bin/sh -c 'NODE_OPTIONS=--max-old-space-size=64 node a.js'"},
		{"node -e \"console.log('$HOME')\"", "${pkgs.busybox}/bin/sh -c 'node -e \"console.log('\\''$HOME'\\'')\"'"},
	} {
		hcl := "module \"app\" {\n  source = \"node\"\n  src = path(\"app\")\n  start = " + quoteHCL(c.start) + "\n}\n"
		p := nodeApp(t, hcl, nil)
		var got strings.Builder
		for _, part := range p.Split(p.Service("app").Command) {
			if part.Ref != nil {
				got.WriteString("${" + part.Ref.String() + "}")
			} else {
				got.WriteString(part.Lit)
			}
		}
		if got.String() != c.want {
			t.Errorf("start %q: command %q, want %q", c.start, got.String(), c.want)
		}
	}
}

// TestNodeStartWords: whatever the start line holds, the init runs it
// as written. A line with shell syntax reaches busybox sh whole, as the
// one word after -c; any other line splits as sh would split it; a line
// that cannot split (an unterminated quote) is an error at the module
// block, not a service that fails when the container starts.
func TestNodeStartWords(t *testing.T) {
	for _, start := range []string{
		`node a.js 'x y' "it's"`,
		`node -e "console.log('$HOME')"`,
		`node a.js; echo '\''done'\''`,
		"node a.js\nnode b.js",
		"node a.js\tx\x01y",
		`node a.js \"quoted\" back\\slash`,
		`NODE_OPTIONS='--max-old-space-size=64' node "$(echo a.js)"`,
		`node a.js '' ""`,
		`node "a.js" 'it'\''s' # comment`,
	} {
		start := strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\x01`, "\x01").Replace(start)
		p := nodeApp(t, "module \"app\" {\n  source = \"node\"\n  src = path(\"app\")\n  start = "+quoteHCL(start)+"\n}\n", nil)
		var line strings.Builder
		shell := false
		for _, part := range p.Split(p.Service("app").Command) {
			switch {
			case part.Ref == nil:
				line.WriteString(part.Lit)
			case part.Ref.String() == "pkgs.busybox":
				shell = true
				line.WriteString("/nix/store/x-busybox")
			default:
				t.Fatalf("start %q: command holds %s", start, part.Ref)
			}
		}
		got, err := runspec.SplitWords(line.String())
		if err != nil {
			t.Errorf("start %q: command %q does not split: %v", start, line.String(), err)
			continue
		}
		if shell {
			if len(got) != 3 || got[0] != "/nix/store/x-busybox/bin/sh" || got[1] != "-c" || got[2] != start {
				t.Errorf("start %q: command splits into %q, want sh -c and the line whole", start, got)
			}
			continue
		}
		want, err := runspec.SplitWords(start)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("start %q: command splits into %q, want %q (%v)", start, got, want, err)
		}
	}
	for _, start := range []string{`node "a.js`, `node 'a.js`, `node a.js "x\"`} {
		_, diags := nodeLoad(t, "module \"app\" {\n  source = \"node\"\n  src = path(\"app\")\n  start = "+quoteHCL(start)+"\n}\n", nil)
		if len(diags) != 1 || diags[0].Summary != "Command cannot be split" || diags[0].Subject == nil || diags[0].Subject.Start.Line != 1 {
			t.Errorf("start %q: %v, want one error \"Command cannot be split\" at the module block", start, diags)
		}
	}
}

// TestNodeOptionErrors: a bad user or nodejs is an error in the app
// file, at the module block or the value, never inside the built-in
// module's own file.
func TestNodeOptionErrors(t *testing.T) {
	for _, c := range []struct {
		option, summary string
		line            int
	}{
		{"user = \"ghost\"", "Unknown user", 1},
		{"nodejs = \"node\"", "Invalid option value", 4},
	} {
		_, diags := nodeLoad(t, "module \"app\" {\n  source = \"node\"\n  src = path(\"app\")\n  "+c.option+"\n}\n", nil)
		if len(diags) != 1 || diags[0].Summary != c.summary || diags[0].Subject == nil || filepath.Base(diags[0].Subject.Filename) != "app.hcl" || diags[0].Subject.Start.Line != c.line {
			t.Errorf("%s: %v, want one error %q at app.hcl:%d", c.option, diags, c.summary, c.line)
		}
	}
}

func quoteHCL(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", "$${", "%{", "%%{", "\n", `\n`, "\t", `\t`, "\x01", `\u0001`)
	return `"` + r.Replace(s) + `"`
}

// TestNodeRegistry: the registry comes from the module's option, else
// the project's .npmrc, else npm's; scopes from .npmrc.
func TestNodeRegistry(t *testing.T) {
	registry := func(p *project.Project) (string, cty.Value) {
		nm := p.Split(p.Service("app").Environment["NODE_PATH"])
		return nm[0].Ref.Args.GetAttr("registry").AsString(), nm[0].Ref.Args.GetAttr("scopes")
	}
	npmrc := map[string]string{".npmrc": "registry=https://mirror.example.com/npm/\n@acme:registry=https://acme.example.com/\n"}
	p := nodeApp(t, "module \"app\" {\n  source = \"node\"\n  src = path(\"app\")\n}\n", npmrc)
	reg, scopes := registry(p)
	if reg != "https://mirror.example.com/npm" || scopes.Index(cty.StringVal("@acme")).AsString() != "https://acme.example.com" {
		t.Errorf(".npmrc: registry %q, scopes %#v", reg, scopes)
	}
	p = nodeApp(t, "module \"app\" {\n  source = \"node\"\n  src = path(\"app\")\n  registry = \"http://127.0.0.1:4873/\"\n}\n", npmrc)
	if reg, _ := registry(p); reg != "http://127.0.0.1:4873" {
		t.Errorf("option: registry %q, want the option's", reg)
	}
}

// TestModulesMarkTheirDerivations: the node module names its instance in
// node_modules' derivation under contract.ModuleAttr, so that a failed
// build is reported at the module block.
func TestModulesMarkTheirDerivations(t *testing.T) {
	src, ok := modules.Source("node")
	if !ok || !strings.Contains(string(src), contract.ModuleAttr+" = instance;") {
		t.Errorf("modules/node.hcl does not set %s in node_modules' derivation", contract.ModuleAttr)
	}
}

// TestLocals: local values read each other in any order, and the rest of
// the file reads them.
func TestLocals(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "app.hcl")
	os.WriteFile(file, []byte(`locals {
  command = "${local.bin}/redis-server --port ${local.port}"
}
locals {
  port = 6380
  bin  = "${pkgs.redis}/bin"
}
service "x" {
  command = local.command
}
`), 0o644)
	p, diags := project.Load(schema.NewParser(), file)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	parts := p.Split(p.Service("x").Command)
	if len(parts) != 2 || parts[0].Ref == nil || parts[0].Ref.String() != "pkgs.redis" || parts[1].Lit != "/bin/redis-server --port 6380" {
		t.Errorf("command = %+v", parts)
	}
}
