package npm

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/quote"
	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/internal/testutil"
)

// project writes files into a temporary directory and reads it.
func project(t *testing.T, files map[string]string) *Project {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Read(dir)
}

const pkgJSON = `{
  "name": "demo",
  "version": "1.2.3",
  "scripts": { "start": "node server.js" },
  "dependencies": { "ms": "^2.1.3", "@scope/lib": "^1.0.0" },
  "devDependencies": { "tool": "^3.0.0" }
}
`

// lockJSON3 is a lockfile v3 as npm writes it with
// omit-lockfile-registry-resolved: no resolved URLs.
const lockJSON3 = `{
  "name": "demo",
  "version": "1.2.3",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "demo",
      "version": "1.2.3",
      "dependencies": { "ms": "^2.1.3", "@scope/lib": "^1.0.0" },
      "devDependencies": { "tool": "^3.0.0" }
    },
    "node_modules/@scope/lib": {
      "version": "1.0.4",
      "integrity": "sha512-AAAA",
      "hasInstallScript": true
    },
    "node_modules/ms": {
      "version": "2.1.3",
      "integrity": "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA=="
    },
    "node_modules/tool": {
      "version": "3.0.1",
      "resolved": "git+ssh://git@example.com/tool.git#abc",
      "dev": true
    }
  }
}
`

func TestReadValid(t *testing.T) {
	p := project(t, map[string]string{"package.json": pkgJSON, "package-lock.json": lockJSON3})
	if len(p.Problems) != 0 {
		t.Fatalf("Problems = %v, want none", p.Problems)
	}
	if p.Name != "demo" || p.Version != "1.2.3" || p.Start != "node server.js" {
		t.Errorf("Name, Version, Start = %q, %q, %q", p.Name, p.Version, p.Start)
	}
	var got []string
	for _, e := range p.Packages {
		got = append(got, e.Path+" "+e.Name+"@"+e.Version)
	}
	// tool is a devDependency: left out, its git source never looked at.
	if want := "node_modules/@scope/lib @scope/lib@1.0.4,node_modules/ms ms@2.1.3"; strings.Join(got, ",") != want {
		t.Errorf("Packages = %v, want %s", got, want)
	}
	if !p.Packages[0].InstallScript || p.Packages[0].Line != 13 {
		t.Errorf("@scope/lib: InstallScript %v, Line %d; want true, 13", p.Packages[0].InstallScript, p.Packages[0].Line)
	}
}

func TestStart(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"script", map[string]string{"package.json": `{"scripts":{"start":"node app.js --port 1"}}`}, "node app.js --port 1"},
		{"prestart", map[string]string{"package.json": `{"scripts":{"prestart":"node migrate.js","start":"node app.js"}}`}, "(\nnode migrate.js\n) && {\nnode app.js\n}"},
		{"main", map[string]string{"package.json": `{"main":"lib/index.js"}`}, "node lib/index.js"},
		{"main with a space", map[string]string{"package.json": `{"main":"my app.js"}`}, "node 'my app.js'"},
		{"server.js", map[string]string{"package.json": `{}`, "server.js": ""}, "node server.js"},
		{"none", map[string]string{"package.json": `{}`}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.files["package-lock.json"] = `{"lockfileVersion":3,"packages":{"":{}}}`
			p := project(t, c.files)
			if p.Start != c.want {
				t.Errorf("Start = %q, want %q", p.Start, c.want)
			}
		})
	}
}

// TestProblems: each way a project cannot be built is reported in its
// file, at its line, naming its entry.
func TestProblems(t *testing.T) {
	withEntry := func(entry string) string {
		return `{
  "lockfileVersion": 3,
  "packages": {
    "": { "dependencies": { "x": "^1.0.0" } },
` + entry + `
  }
}
`
	}
	const pkgX = `{ "dependencies": { "x": "^1.0.0" } }`
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string // Problem.String() of the first problem
	}{
		{"no package.json", map[string]string{}, "package.json: There is no package.json in"},
		{"package.json not JSON", map[string]string{"package.json": "{\n  \"name\": \"x\",\n  oops\n}\n"}, "package.json:3: Not valid JSON"},
		{"package.json wrong type", map[string]string{"package.json": "{\n  \"main\": 5\n}\n"}, "package.json:2: main is a JSON number here; npm writes a string."},
		{"no lockfile", map[string]string{"package.json": pkgX}, "package-lock.json: There is no package-lock.json in"},
		{"NUL in start", map[string]string{"package.json": "{\n  \"scripts\": {\n    \"start\": \"node a.js\\u0000; rm -rf /\"\n  }\n}\n"}, "package.json:2: scripts: The start command holds a NUL byte"},
		{"NUL in main", map[string]string{"package.json": "{\n  \"main\": \"a\\u0000.js\"\n}\n"}, "package.json:2: main: The start command holds a NUL byte"},
		{"shrinkwrap", map[string]string{"package.json": pkgX, "npm-shrinkwrap.json": "{}"}, "rename it to package-lock.json"},
		{"yarn", map[string]string{"package.json": pkgX, "yarn.lock": ""}, "there is a yarn.lock"},
		{"lockfile v1", map[string]string{"package.json": pkgX, "package-lock.json": "{\n  \"name\": \"x\",\n  \"lockfileVersion\": 1,\n  \"dependencies\": {}\n}\n"}, "package-lock.json:3: lockfileVersion: This is a lockfile v1 (npm 6 and older)"},
		{"lockfile v4", map[string]string{"package.json": pkgX, "package-lock.json": `{"lockfileVersion": 4, "packages": {}}`}, "Lockfile version 4 is not one nix-docker reads"},
		{"no root entry", map[string]string{"package.json": pkgX, "package-lock.json": `{"lockfileVersion": 3, "packages": {}}`}, `packages[""]: The lockfile has no root entry`},
		{"dependency not locked", map[string]string{
			"package.json":      "{\n  \"dependencies\": {\n    \"x\": \"^1.0.0\",\n    \"y\": \"^2.0.0\"\n  }\n}\n",
			"package-lock.json": withEntry(`    "node_modules/x": { "version": "1.0.0", "integrity": "sha512-AA==" }`),
		}, `package.json:4: dependencies["y"]: package.json asks for y ^2.0.0, which package-lock.json does not list.`},
		{"dependency changed", map[string]string{
			"package.json":      `{ "dependencies": { "x": "^2.0.0" } }`,
			"package-lock.json": withEntry(`    "node_modules/x": { "version": "1.0.0", "integrity": "sha512-AA==" }`),
		}, `package.json:1: dependencies["x"]: package.json asks for x ^2.0.0, package-lock.json was written for ^1.0.0.`},
		{"dependency removed", map[string]string{
			"package.json":      `{ "dependencies": { } }`,
			"package-lock.json": withEntry(`    "node_modules/x": { "version": "1.0.0", "integrity": "sha512-AA==" }`),
		}, `package-lock.json:4: packages[""].dependencies["x"]: package-lock.json lists x, which package.json no longer asks for.`},
		{"no entry for a dependency", map[string]string{"package.json": pkgX, "package-lock.json": withEntry(`    "node_modules/other": { "version": "1.0.0", "integrity": "sha512-AA==" }`)},
			`dependencies["x"]: package-lock.json has no entry node_modules/x for it.`},
		{"git dependency", map[string]string{"package.json": pkgX, "package-lock.json": withEntry(`    "node_modules/x": { "version": "1.0.0", "resolved": "git+ssh://git@github.com/a/x.git#0123abc" }`)},
			`package-lock.json:5: packages["node_modules/x"]: A git dependency (git+ssh://git@github.com/a/x.git#0123abc).`},
		{"file: link", map[string]string{"package.json": pkgX, "package-lock.json": withEntry(`    "node_modules/x": { "resolved": "../x", "link": true },` + "\n" + `    "../x": { "version": "1.0.0" }`)},
			`package-lock.json:5: packages["node_modules/x"]: A link to ../x (a file: dependency or a workspace).`},
		{"file: tarball", map[string]string{"package.json": pkgX, "package-lock.json": withEntry(`    "node_modules/x": { "version": "1.0.0", "resolved": "file:vendor/x-1.0.0.tgz", "integrity": "sha512-AA==" }`)},
			`packages["node_modules/x"]: A file: dependency (file:vendor/x-1.0.0.tgz).`},
		{"no integrity", map[string]string{"package.json": pkgX, "package-lock.json": withEntry(`    "node_modules/x": { "version": "1.0.0", "resolved": "https://example.com/x.tgz" }`)},
			`packages["node_modules/x"]: No integrity hash, so it cannot be fetched by hash.`},
		{"two hashes", map[string]string{"package.json": pkgX, "package-lock.json": withEntry(`    "node_modules/x": { "version": "1.0.0", "integrity": "sha1-AA== sha512-AA==" }`)},
			`is not one sha1, sha256 or sha512 hash`},
		{"no version", map[string]string{"package.json": pkgX, "package-lock.json": withEntry(`    "node_modules/x": { "integrity": "sha512-AA==" }`)},
			`No resolved URL and no version`},
		{"credential in .npmrc", map[string]string{".npmrc": "registry=https://npm.example.com/\n//npm.example.com/:_authToken=s3cret\n", "package.json": pkgX},
			`.npmrc:2: //npm.example.com/:_authToken: A credential in the app's own files`},
		{"registry from the environment", map[string]string{".npmrc": "registry=${REGISTRY}\n", "package.json": pkgX},
			`.npmrc:1: registry: The registry names an environment variable`},
		{"registry not a URL", map[string]string{".npmrc": "\n@acme:registry=ftp://x\n", "package.json": pkgX},
			`.npmrc:2: @acme:registry: The registry "ftp://x" is not an http:// or https:// URL`},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := project(t, c.files)
			if len(p.Problems) == 0 {
				t.Fatalf("no problem reported, want %q", c.want)
			}
			if got := p.Problems[0].String(); !strings.Contains(got, c.want) {
				t.Errorf("Problems[0] = %q, want it to contain %q (all: %v)", got, c.want, p.Problems)
			}
		})
	}
}

func TestRegistries(t *testing.T) {
	p := project(t, map[string]string{
		".npmrc":       "; comment\n# comment\nregistry = https://npm.example.com/mirror/\n@acme:registry=http://127.0.0.1:4873\nfund=false\n",
		"package.json": `{}`, "package-lock.json": `{"lockfileVersion":2,"packages":{"":{}}}`,
	})
	if len(p.Problems) != 0 {
		t.Fatalf("Problems = %v", p.Problems)
	}
	if p.Registry != "https://npm.example.com/mirror" || p.Scopes["@acme"] != "http://127.0.0.1:4873" || len(p.Scopes) != 1 {
		t.Errorf("Registry %q, Scopes %v", p.Registry, p.Scopes)
	}
}

func TestSummaryCaps(t *testing.T) {
	p := &Project{}
	for i := 0; i < MaxProblems+3; i++ {
		p.problem(LockFile, i+1, "e", "m")
	}
	s := p.Summary()
	if n := strings.Count(s, "\n") + 1; n != MaxProblems+1 || !strings.HasSuffix(s, "(and 3 more)") {
		t.Errorf("Summary has %d lines:\n%s", n, s)
	}
}

// TestStartPrestartShell: prestart and start are each a shell command of
// their own, as npm runs them: start runs only when prestart succeeded,
// whatever prestart ends with (a comment, ";", "&"), and what prestart
// does to its shell (cd, exit 0) stays in it. The line goes as node.hcl
// sends it: quoted as one word (shell_quote), split by the init
// (runspec.SplitWords), run by sh -c.
func TestStartPrestartShell(t *testing.T) {
	testutil.NeedCommand(t, "sh", "busybox")
	for _, c := range []struct{ name, pre, start, want string }{
		{"comment", "echo pre # warm up", "echo start", "pre\nstart\n"},
		{"semicolon", "echo pre;", "echo start", "pre\nstart\n"},
		{"background", "true &", "echo start", "start\n"},
		{"start ends in a comment", "echo pre", "echo start # main", "pre\nstart\n"},
		{"start of two commands", "false", "echo a; echo b", ""},
		{"prestart fails", "echo pre; exit 3", "echo start", "pre\n"},
		{"prestart exits 0", "echo pre; exit 0", "echo start", "pre\nstart\n"},
		{"prestart cd", "cd /", "pwd", "DIR\n"},
		{"heredoc", "cat <<EOF\nhere\nEOF", "echo start", "here\nstart\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pkg, err := json.Marshal(map[string]any{"scripts": map[string]string{"prestart": c.pre, "start": c.start}})
			if err != nil {
				t.Fatal(err)
			}
			p := project(t, map[string]string{"package.json": string(pkg), "package-lock.json": `{"lockfileVersion":3,"packages":{"":{}}}`})
			word, err := quote.Shell(p.Start)
			if err != nil {
				t.Fatal(err)
			}
			words, err := runspec.SplitWords("/bin/sh -c " + word)
			if err != nil || len(words) != 3 || words[2] != p.Start {
				t.Fatalf("SplitWords of the quoted start line = %q, %v; want [/bin/sh -c %q]", words, err, p.Start)
			}
			// The host's sh, and busybox sh as node.hcl runs it.
			for _, sh := range [][]string{{words[0]}, {"busybox", "sh"}} {
				dir := t.TempDir()
				cmd := exec.Command(sh[0], append(sh[1:], words[1:]...)...)
				cmd.Dir = dir
				out, _ := cmd.Output()
				if want := strings.ReplaceAll(c.want, "DIR", dir); string(out) != want {
					t.Errorf("%s -c %q printed %q, want %q", sh, p.Start, out, want)
				}
			}
		})
	}
}
