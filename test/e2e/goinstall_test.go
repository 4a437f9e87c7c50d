package e2e

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// installVersion is the version the test publishes this checkout as.
const installVersion = "v0.0.1-e2etest"

// TestGoInstall installs nix-docker as a user would, with nothing but Go:
// `go install github.com/nix-docker/nix-docker/cmd/nix-docker@VERSION`
// from a module proxy holding this checkout (a file:// proxy this test
// writes; the dependencies come from the real module proxy) into an
// empty GOBIN, with an empty module cache and cache directory. That one binary, alone in its
// directory, then builds the webapp (Nix builds the init from the source
// the binary carries, sandboxed) and the image runs: the counter counts.
func TestGoInstall(t *testing.T) {
	t.Parallel()
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	work := t.TempDir()
	proxy := filepath.Join(work, "proxy")
	publish(t, proxy)

	gobin := filepath.Join(work, "gobin")
	if err := os.Mkdir(gobin, 0o755); err != nil {
		t.Fatal(err)
	}
	upstream := strings.TrimSpace(must(t, "go", "env", "GOPROXY"))
	env := cleanEnv(
		"GOBIN="+gobin,
		// This machine's build cache: compiled packages only, keyed by
		// their inputs (an empty one makes the install take minutes).
		"GOCACHE="+strings.TrimSpace(must(t, "go", "env", "GOCACHE")),
		"GOPATH="+filepath.Join(work, "gopath"),
		"GOMODCACHE="+filepath.Join(work, "modcache"),
		"GOPROXY=file://"+proxy+","+upstream,
		"GONOSUMDB=github.com/nix-docker/nix-docker",
		// The checksum database is not reachable here; the module
		// proxy is.
		"GOSUMDB=off",
		"GOFLAGS=-mod=mod -modcacherw",
		"GOTOOLCHAIN=local",
		"XDG_CACHE_HOME="+filepath.Join(work, "cache"),
	)
	start := time.Now()
	install := exec.Command("go", "install", "github.com/nix-docker/nix-docker/cmd/nix-docker@"+installVersion)
	install.Dir, install.Env = work, env
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	t.Logf("go install took %s", time.Since(start).Round(time.Second))
	entries, err := os.ReadDir(gobin)
	if err != nil || len(entries) != 1 || entries[0].Name() != "nix-docker" {
		t.Fatalf("GOBIN holds %v, want nix-docker alone", entries)
	}
	bin := filepath.Join(gobin, "nix-docker")
	if v := runWith(t, env, bin, "version"); v.code != 0 || !strings.Contains(v.stdout, installVersion) {
		t.Errorf("nix-docker version = exit %d, %q; want %s", v.code, v.stdout, installVersion)
	}

	tag := unique("nix-docker-e2e/goinstall") + ":test"
	t.Cleanup(func() { run(t, "docker", "rmi", "-f", tag) })
	start = time.Now()
	build := runWith(t, env, bin, "-b", "-t", tag, "-I", nixpkgsArg(t), repo(t, "examples", "webapp", "app.hcl"))
	if build.code != 0 {
		t.Fatalf("nix-docker -b (the installed binary): exit %d\n%s", build.code, build.stderr)
	}
	t.Logf("nix-docker -b took %s", time.Since(start).Round(time.Second))
	checkInitFromCache(t, tag, filepath.Join(work, "cache", "nix-docker", "init-src"))

	name := unique("nix-docker-e2e-goinstall")
	must(t, "docker", "run", "-d", "--name", name, "-p", "127.0.0.1::8080", tag)
	t.Cleanup(func() { run(t, "docker", "rm", "-f", name) })
	app := "http://127.0.0.1:" + hostPort(t, name, "8080/tcp") + "/"
	var counts []int
	for range 2 {
		code, body := httpGet(t, app, 60*time.Second)
		m := hits.FindStringSubmatch(body)
		if code != 200 || m == nil {
			t.Fatalf("GET %s = %d %q, want 200 and a hit count", app, code, body)
		}
		n, _ := strconv.Atoi(m[1])
		counts = append(counts, n)
	}
	if counts[1] != counts[0]+1 {
		t.Errorf("hit counts %v, want the second one more than the first (kept in Redis)", counts)
	}
}

// checkInitFromCache: the image's init is the one Nix built from the
// source the installed binary wrote under cache (its one directory).
func checkInitFromCache(t *testing.T, tag, cache string) {
	t.Helper()
	dirs, err := os.ReadDir(cache)
	if err != nil || len(dirs) != 1 {
		t.Fatalf("%s holds %v (%v), want one source directory", cache, dirs, err)
	}
	src := strings.Trim(must(t, "nix-instantiate", "--eval", "-E",
		`builtins.path { path = `+strconv.Quote(filepath.Join(cache, dirs[0].Name()))+`; name = "nix-docker-init-src"; }`), `"`)
	var ep []string
	if err := json.Unmarshal([]byte(must(t, "docker", "image", "inspect", "--format", "{{json .Config.Entrypoint}}", tag)), &ep); err != nil || len(ep) == 0 {
		t.Fatalf("the image's entrypoint: %v", err)
	}
	drv := must(t, "nix-store", "--query", "--deriver", ep[0])
	var show map[string]struct {
		Env map[string]string `json:"env"`
	}
	if err := json.Unmarshal([]byte(must(t, "nix", "--extra-experimental-features", "nix-command", "show-derivation", drv)), &show); err != nil {
		t.Fatal(err)
	}
	if got := show[drv].Env["src"]; got != src {
		t.Errorf("the image's init %s was built from %q, want the source the binary wrote (%s)", ep[0], got, src)
	}
}

// cleanEnv is this process' environment without Go's settings and
// nix-docker's init override, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GO") || k == "NIX_DOCKER_INIT" || k == "XDG_CACHE_HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// runWith runs a command with exactly env.
func runWith(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return r
}

// publish writes a module proxy (the GOPROXY protocol, as files) holding
// this checkout as installVersion: what git tracks plus new files it does
// not ignore, as a tag's module zip would hold them.
func publish(t *testing.T, proxy string) {
	t.Helper()
	root := testutil.RepoRoot(t)
	ls := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	out, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	var files []modzip.File
	for _, p := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil { // not deleted in the work tree
			files = append(files, treeFile{root, p})
		}
	}
	mod := module.Version{Path: "github.com/nix-docker/nix-docker", Version: installVersion}
	dir := filepath.Join(proxy, mod.Path, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	z, err := os.Create(filepath.Join(dir, installVersion+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	if err := modzip.Create(z, mod, files); err != nil {
		t.Fatalf("module zip: %v", err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := json.Marshal(map[string]string{"Version": installVersion, "Time": "2026-01-01T00:00:00Z"})
	for name, b := range map[string][]byte{"list": []byte(installVersion + "\n"), installVersion + ".mod": gomod, installVersion + ".info": info} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// treeFile is a file of the work tree, for the module zip.
type treeFile struct{ root, path string }

func (f treeFile) Path() string                 { return f.path }
func (f treeFile) Lstat() (os.FileInfo, error)  { return os.Lstat(filepath.Join(f.root, f.path)) }
func (f treeFile) Open() (io.ReadCloser, error) { return os.Open(filepath.Join(f.root, f.path)) }
