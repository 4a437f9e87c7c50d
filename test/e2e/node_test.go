package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/internal/testutil"
)

// nodeFixture is a project under test/e2e/testdata/node.
func nodeFixture(t *testing.T, parts ...string) string {
	return repo(t, append([]string{"test", "e2e", "testdata", "node"}, parts...)...)
}

// appService reads the app service of an image's system path (its
// runspec, in the host's store: the image holds the same paths).
func appService(t *testing.T, system, name string) runspec.Service {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(system, "runspec.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sp runspec.Spec
	if err := json.Unmarshal(b, &sp); err != nil {
		t.Fatal(err)
	}
	for _, s := range sp.Services {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no service %s in %s", name, system)
	return runspec.Service{}
}

// narSize is a store path's own size, as Nix counts it.
func narSize(t *testing.T, path string) int64 {
	t.Helper()
	var info []struct{ NarSize int64 }
	if err := json.Unmarshal([]byte(must(t, "nix", "--extra-experimental-features", "nix-command", "path-info", "--json", path)), &info); err != nil || len(info) != 1 {
		t.Fatalf("nix path-info %s: %v", path, err)
	}
	return info[0].NarSize
}

// TestNodeDependencies: layers follow change. The webapp (Express and the
// redis client from its lockfile) is built; a one-line change to
// server.js resends the app's layer only (the root filesystem's entries
// ride in it); a new dependency in package.json and package-lock.json
// resends node_modules' layer and the app's, every layer below stays. The
// devDependency never reaches node_modules, NODE_ENV is production, no
// tarball is in the image, and a counting proxy in front of the engine
// agrees with what nix-docker says it sent. Which layers change is read
// from the images; what is sent is at most those, as another build of the
// same sources on a shared engine may have loaded one already.
func TestNodeDependencies(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	name := unique("nix-docker-e2e/node")
	app := copyWebapp(t)
	dir := filepath.Dir(app)
	counter := countEngine(t)
	env := []string{"DOCKER_HOST=" + counter.host}

	build := func(tag, what string) (loadStats, imageInfo) {
		r := buildOK(t, env, "-b", "-t", name+":"+tag, app)
		st := parseLoad(t, r.stderr)
		removeImages(t, name+":"+tag, st.id)
		checkCounted(t, what, st, r.stderr, counter)
		return st, inspectImage(t, name+":"+tag)
	}
	v1, img1 := build("v1", "first load")

	server := filepath.Join(dir, "app", "server.js")
	js, err := os.ReadFile(server)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(js), "Hello from nix-docker!", "Hello again from nix-docker!", 1)
	if changed == string(js) {
		t.Fatal("server.js no longer says \"Hello from nix-docker!\"; update this test")
	}
	os.WriteFile(server, []byte(changed), 0o644)
	v2, img2 := build("v2", "one-line change")
	t.Logf("one-line change to server.js: %d layers sent (%d bytes), %d already in the engine", v2.sent, v2.bytes, v2.skipped)
	// What changed is the image's top layer (the app's, with the root
	// filesystem's entries); what was sent is at most that (none when the
	// engine holds it already: other builds of the same source share this
	// engine).
	if v2.sent > 1 || v2.bytes >= 1<<20 {
		t.Errorf("a one-line change sent %d layers, %d bytes; want the app's layer at most, under 1 MiB", v2.sent, v2.bytes)
	}
	if n := len(img2.RootFS.Layers); n != len(img1.RootFS.Layers) || !slices.Equal(img1.RootFS.Layers[:n-1], img2.RootFS.Layers[:n-1]) || img1.RootFS.Layers[n-1] == img2.RootFS.Layers[n-1] {
		t.Errorf("a one-line change changed other layers than the app's:\nv1 %v\nv2 %v", img1.RootFS.Layers, img2.RootFS.Layers)
	}

	// A new dependency (uuid) and a devDependency (is-number).
	for _, f := range []string{"package.json", "package-lock.json"} {
		must(t, "cp", nodeFixture(t, "webapp-more", f), filepath.Join(dir, "app", f))
	}
	v3, img3 := build("v3", "new dependency")
	system := img3.Config.Labels["org.nix-docker.system"]
	svc := appService(t, system, "app")
	nodeModules := strings.TrimSuffix(svc.Environment["NODE_PATH"], "/node_modules")
	appPath := svc.Directory
	t.Logf("new dependency: %d layers sent (%d bytes), %d already in the engine; node_modules %d bytes", v3.sent, v3.bytes, v3.skipped, narSize(t, nodeModules))
	n := len(img3.RootFS.Layers)
	moved := 0
	for i := range min(n, len(img2.RootFS.Layers)) {
		if img2.RootFS.Layers[i] != img3.RootFS.Layers[i] {
			moved++
		}
	}
	if v3.sent > 2 || moved != 2 || n != len(img2.RootFS.Layers) || !slices.Equal(img2.RootFS.Layers[:n-2], img3.RootFS.Layers[:n-2]) {
		t.Errorf("a new dependency sent %d layers and changed %d, want node_modules' and the app's (sent: those the engine lacked), every layer below kept:\nv2 %v\nv3 %v", v3.sent, moved, img2.RootFS.Layers, img3.RootFS.Layers)
	}
	// What was sent is the top two layers (docker history, top first,
	// counts their files' bytes; the tars add a 512-byte header and padding
	// per file), a small part of the image.
	var sizes []int64
	for _, f := range strings.Fields(must(t, "docker", "history", "--human=false", "--format", "{{.Size}}", name+":v3")) {
		n, _ := strconv.ParseInt(f, 10, 64)
		sizes = append(sizes, n)
	}
	var top, all int64
	for i, n := range sizes {
		all += n
		if i < 2 {
			top += n
		}
	}
	if v3.bytes > 2*top+1<<20 || top > all/10 {
		t.Errorf("a new dependency sent %d bytes; the top two layers hold %d of the image's %d bytes of files: want their tars, a tenth of the image at most", v3.bytes, top, all)
	}

	// What the image holds: production dependencies only, no tarball.
	if _, err := os.Stat(filepath.Join(nodeModules, "node_modules", "uuid", "package.json")); err != nil {
		t.Errorf("the new dependency uuid is not in node_modules: %v", err)
	}
	if _, err := os.Stat(filepath.Join(nodeModules, "node_modules", "is-number")); err == nil {
		t.Errorf("the devDependency is-number is in node_modules (%s)", nodeModules)
	}
	if svc.Environment["NODE_ENV"] != "production" {
		t.Errorf("NODE_ENV = %q, want production", svc.Environment["NODE_ENV"])
	}
	for _, p := range strings.Fields(img3.Config.Labels["org.nix-docker.store-paths"]) {
		if strings.HasSuffix(p, ".tgz") || strings.HasSuffix(p, "-sources") {
			t.Errorf("the image holds %s: the tarballs and importNpmLock's sources are build inputs only", p)
		}
	}
	if v1.id == v2.id || v2.id == v3.id {
		t.Errorf("image IDs %s, %s, %s: each change must make a new image", v1.id, v2.id, v3.id)
	}

	// It runs: Express answers, the counter counts in Redis.
	ctr, ports := startContainer(t, name+":v3", "8080")
	url := "http://127.0.0.1:" + ports["8080"] + "/"
	var counts []int
	for i := 0; i < 2; i++ {
		code, body := httpGet(t, url, 60*time.Second)
		m := hits.FindStringSubmatch(body)
		if code != 200 || m == nil || !strings.Contains(body, "Hello again") {
			t.Fatalf("GET %s = %d %q, want the changed greeting and a hit count", url, code, body)
		}
		c, _ := strconv.Atoi(m[1])
		counts = append(counts, c)
	}
	if counts[1] != counts[0]+1 {
		t.Errorf("hit counts %v, want one more each time", counts)
	}
	_ = ctr

	// node_modules and the app build again, bit for bit, in the sandbox.
	drvs := strings.Fields(must(t, "nix-store", "--query", "--deriver", nodeModules, appPath))
	if r := run(t, "nix-store", append([]string{"--realise", "--check"}, drvs...)...); r.code != 0 {
		t.Errorf("nix-store --realise --check %v (a sandboxed rebuild): exit %d\n%s", drvs, r.code, r.stderr)
	}
}

// TestNodeLockfiles: lockfiles as they come. One with resolved URLs
// builds and runs; a native addon whose install script finds its
// prebuilt binary builds and runs; without resolved URLs, the registry
// comes from the module's option, else .npmrc, else npm's.
func TestNodeLockfiles(t *testing.T) {
	t.Parallel()
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	for _, c := range []struct{ fixture, want string }{
		{"resolved", "2h is 7200000 ms"},
		{"prebuilt", "microtime works"},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			tag := buildFile(t, nodeFixture(t, c.fixture, "app.hcl"), "node-"+c.fixture)
			_, ports := startContainer(t, tag, "3000")
			url := "http://127.0.0.1:" + ports["3000"] + "/"
			if code, body := httpGet(t, url, 60*time.Second); code != 200 || strings.TrimSpace(body) != c.want {
				t.Errorf("GET %s = %d %q, want %q", url, code, body, c.want)
			}
		})
	}

	t.Run("registry", func(t *testing.T) {
		bin := nixDocker(t)
		dir := t.TempDir()
		must(t, "cp", "-r", nodeFixture(t, "resolved", "app"), filepath.Join(dir, "app"))
		lock := filepath.Join(dir, "app", "package-lock.json")
		b, _ := os.ReadFile(lock)
		noURL := strings.Replace(string(b), `"resolved": "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz",`, "", 1)
		if noURL == string(b) {
			t.Fatal("the fixture's lockfile has no resolved URL for ms")
		}
		os.WriteFile(lock, []byte(noURL), 0o644)
		file := filepath.Join(dir, "app.hcl")
		// msURL is the URL Nix would fetch ms from, read from the
		// derivations (nothing is built or fetched).
		msURL := func(hcl string) string {
			os.WriteFile(file, []byte(hcl), 0o644)
			expr := filepath.Join(dir, "default.nix")
			os.WriteFile(expr, []byte(must(t, bin, "nix", file)), 0o644)
			drv := must(t, "nix-instantiate", "-I", nixpkgsArg(t), expr)
			var drvs map[string]struct{ Env map[string]string }
			json.Unmarshal([]byte(must(t, "nix", "--extra-experimental-features", "nix-command", "show-derivation", "-r", drv)), &drvs)
			for _, d := range drvs {
				if strings.HasSuffix(d.Env["url"], "/ms-2.1.3.tgz") {
					return d.Env["url"]
				}
			}
			t.Fatalf("no derivation fetches ms-2.1.3.tgz")
			return ""
		}
		module := "module \"app\" {\n  source = \"node\"\n  src    = path(\"app\")\n%s}\n"
		if got := msURL(strings.Replace(module, "%s", "", 1)); got != "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz" {
			t.Errorf("without a registry set: %s, want npm's registry", got)
		}
		os.WriteFile(filepath.Join(dir, "app", ".npmrc"), []byte("registry=http://127.0.0.1:4873/npm/\n"), 0o644)
		if got := msURL(strings.Replace(module, "%s", "", 1)); got != "http://127.0.0.1:4873/npm/ms/-/ms-2.1.3.tgz" {
			t.Errorf("with .npmrc: %s, want its registry", got)
		}
		if got := msURL(strings.Replace(module, "%s", "  registry = \"https://mirror.example.com/\"\n", 1)); got != "https://mirror.example.com/ms/-/ms-2.1.3.tgz" {
			t.Errorf("with the registry option: %s, want the option's", got)
		}
	})
}

// TestNodeStoreNames: package.json's name and version become store path
// names, which hold [A-Za-z0-9+._?=-] only: any name npm accepts (old
// packages may hold ~ ' ! ( ) *) and any version string still evaluate,
// the other characters dropped, words joined by "-".
func TestNodeStoreNames(t *testing.T) {
	t.Parallel()
	testutil.NeedNix(t)
	bin := nixDocker(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "app"), 0o755)
	const pkg = `{ "name": "@acme/my~app(x)", "version": "1.0.0 beta", "main": "index.js" }`
	const lock = `{ "name": "@acme/my~app(x)", "version": "1.0.0 beta", "lockfileVersion": 3, "packages": { "": { "name": "@acme/my~app(x)", "version": "1.0.0 beta" } } }`
	os.WriteFile(filepath.Join(dir, "app", "package.json"), []byte(pkg), 0o644)
	os.WriteFile(filepath.Join(dir, "app", "package-lock.json"), []byte(lock), 0o644)
	os.WriteFile(filepath.Join(dir, "app.hcl"), []byte("module \"app\" {\n  source = \"node\"\n  src    = path(\"app\")\n}\n"), 0o644)
	expr := filepath.Join(dir, "default.nix")
	os.WriteFile(expr, []byte(must(t, bin, "nix", filepath.Join(dir, "app.hcl"))), 0o644)
	r := run(t, "nix-instantiate", "-I", nixpkgsArg(t), expr)
	if r.code != 0 {
		t.Fatalf("nix-instantiate: exit %d\n%s", r.code, r.stderr)
	}
	drvs := must(t, "nix-store", "--query", "--requisites", strings.TrimSpace(r.stdout))
	for _, want := range []string{"-acme-my-app-x-node-modules-1.0.0-beta.drv", "-acme-my-app-x-1.0.0-beta.drv", "-acme-my-app-x-1.0.0-beta-sources.drv"} {
		if !strings.Contains(drvs, want) {
			t.Errorf("no derivation named *%s among:\n%s", want, drvs)
		}
	}
}

// TestNodeBadInput: a project the node module cannot build fails with
// an error at the app file's line and column, naming the lockfile entry,
// and tags nothing: found while loading (no lockfile, lockfile v1, out
// of sync, git and file: dependencies), or when the build runs a native
// addon's install script this package set has no toolchain for.
func TestNodeBadInput(t *testing.T) {
	t.Parallel()
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	bin := nixDocker(t)
	const pkg = `{ "name": "bad", "main": "index.js", "dependencies": { "x": "^1.0.0" } }`
	lock := func(entry string) string {
		return `{
  "name": "bad",
  "lockfileVersion": 3,
  "packages": {
    "": { "name": "bad", "dependencies": { "x": "^1.0.0" } },
    "node_modules/x": ` + entry + `
  }
}
`
	}
	for _, c := range []struct {
		name  string
		files map[string]string
		at    string
		want  []string
	}{
		{"no lockfile", map[string]string{"package.json": pkg}, "app.hcl:3:12", []string{"app/package-lock.json: There is no package-lock.json", "npm install --package-lock-only"}},
		{"lockfile v1", map[string]string{"package.json": pkg, "package-lock.json": "{\n  \"lockfileVersion\": 1,\n  \"dependencies\": {}\n}\n"}, "app.hcl:3:12", []string{"app/package-lock.json:2: lockfileVersion: This is a lockfile v1"}},
		{"out of sync", map[string]string{"package.json": `{ "main": "index.js", "dependencies": { "x": "^2.0.0" } }`, "package-lock.json": lock(`{ "version": "1.0.0", "integrity": "sha512-AA==" }`)}, "app.hcl:3:12", []string{`app/package.json:1: dependencies["x"]: package.json asks for x ^2.0.0, package-lock.json was written for ^1.0.0`}},
		{"git dependency", map[string]string{"package.json": pkg, "package-lock.json": lock(`{ "version": "1.0.0", "resolved": "git+https://github.com/acme/x.git#0123456789abcdef0123456789abcdef01234567" }`)}, "app.hcl:3:12", []string{`app/package-lock.json:6: packages["node_modules/x"]: A git dependency`}},
		{"file dependency", map[string]string{"package.json": pkg, "package-lock.json": lock(`{ "version": "1.0.0", "resolved": "file:vendor/x-1.0.0.tgz", "integrity": "sha512-AA==" }`)}, "app.hcl:3:12", []string{`app/package-lock.json:6: packages["node_modules/x"]: A file: dependency (file:vendor/x-1.0.0.tgz)`}},
		{"native addon", nil, "app.hcl:1:1", []string{"error: Building module failed", "node_modules/heapdump (heapdump@0.3.15) builds a native addon with node-gyp", "python3, make and a C++ compiler"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.files == nil {
				must(t, "cp", "-r", nodeFixture(t, "native", "app"), filepath.Join(dir, "app"))
			} else {
				os.MkdirAll(filepath.Join(dir, "app"), 0o755)
				for f, text := range c.files {
					os.WriteFile(filepath.Join(dir, "app", f), []byte(text), 0o644)
				}
			}
			os.WriteFile(filepath.Join(dir, "app.hcl"), []byte("module \"app\" {\n  source = \"node\"\n  src    = path(\"app\")\n}\n"), 0o644)
			tag := unique("nix-docker-e2e/never") + ":test"
			r := runIn(t, dir, bin, "-b", "-t", tag, "-I", nixpkgsArg(t), "app.hcl")
			if r.code != 1 {
				t.Errorf("exit %d, want 1", r.code)
			}
			if !strings.Contains(r.stderr, c.at+": error: ") {
				t.Errorf("stderr does not point at %s:\n%s", c.at, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if got := run(t, "docker", "image", "inspect", tag); got.code == 0 {
				run(t, "docker", "rmi", "-f", tag)
				t.Errorf("a failed build tagged %s", tag)
			}
		})
	}
}

// TestNodeShell: `nix-docker shell --run` runs a command with the
// packages of the webapp's services, the image's own store paths: its
// Node.js (the same version as in the image), redis-cli, and its
// node_modules on NODE_PATH.
func TestNodeShell(t *testing.T) {
	t.Parallel()
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	bin := nixDocker(t)
	tag := buildExample(t, "webapp")
	img := inspectImage(t, tag)
	held := strings.Fields(img.Config.Labels["org.nix-docker.store-paths"])
	svc := appService(t, img.Config.Labels["org.nix-docker.system"], "app")
	var nodejs string
	for _, p := range held {
		if strings.Contains(p, "-nodejs-") {
			nodejs = p
		}
	}
	if nodejs == "" {
		t.Fatalf("no Node.js among the image's store paths: %v", held)
	}
	imageNode := must(t, "docker", "run", "--rm", "--entrypoint", nodejs+"/bin/node", tag, "--version")

	script := `command -v node; node --version; command -v redis-cli; redis-cli --version; echo "$NODE_PATH"; ` +
		`cd / && node -e 'require("express"); console.log(typeof require("redis").createClient)'`
	r := run(t, bin, "shell", "-I", nixpkgsArg(t), "--run", script, repo(t, "examples", "webapp", "app.hcl"))
	if r.code != 0 {
		t.Fatalf("nix-docker shell --run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 6 {
		t.Fatalf("shell output:\n%s\nwant 6 lines", r.stdout)
	}
	if lines[0] != nodejs+"/bin/node" {
		t.Errorf("node in the shell is %s, want the image's %s/bin/node", lines[0], nodejs)
	}
	if lines[1] != imageNode {
		t.Errorf("node --version in the shell = %q, in the image %q", lines[1], imageNode)
	}
	if !slices.Contains(held, filepath.Dir(filepath.Dir(lines[2]))) || !strings.HasPrefix(lines[3], "redis-cli 7.") {
		t.Errorf("redis-cli in the shell: %s, %q; want the image's redis' redis-cli", lines[2], lines[3])
	}
	if lines[4] != svc.Environment["NODE_PATH"] || !slices.Contains(held, strings.TrimSuffix(lines[4], "/node_modules")) {
		t.Errorf("NODE_PATH in the shell = %s, want the image's node_modules %s", lines[4], svc.Environment["NODE_PATH"])
	}
	if lines[5] != "function" {
		t.Errorf("require(\"redis\").createClient in the shell: %q, want a function", lines[5])
	}

	// The command's exit status is the shell's.
	if r := run(t, bin, "shell", "-I", nixpkgsArg(t), "--run", "exit 3", repo(t, "examples", "webapp", "app.hcl")); r.code != 3 {
		t.Errorf("nix-docker shell --run 'exit 3': exit %d, want 3", r.code)
	}
}
