package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// loadLine is what nix-docker -b prints after a load.
var loadLine = regexp.MustCompile(`loaded (sha256:[0-9a-f]{64}) as \S+ in [0-9.]+s: (\d+) layers? sent \(([0-9.]+) (B|KiB|MiB)\), (\d+) already in the engine`)

// loadStats is one load as nix-docker reported it.
type loadStats struct {
	id      string
	sent    int
	bytes   int64
	skipped int
}

func parseLoad(t *testing.T, stderr string) loadStats {
	t.Helper()
	m := loadLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no load report in nix-docker's output:\n%s", stderr)
	}
	sent, _ := strconv.Atoi(m[2])
	skipped, _ := strconv.Atoi(m[5])
	f, _ := strconv.ParseFloat(m[3], 64)
	switch m[4] {
	case "KiB":
		f *= 1 << 10
	case "MiB":
		f *= 1 << 20
	}
	return loadStats{id: m[1], sent: sent, bytes: int64(f), skipped: skipped}
}

// nixpkgsArg is the -I argument for the offline package set.
func nixpkgsArg(t *testing.T) string { return "nixpkgs=" + repo(t, "testdata", "nixpkgs") }

// buildOK runs nix-docker with args (the -I for the offline package set
// added) and fails the test unless it succeeds.
func buildOK(t *testing.T, env []string, args ...string) result {
	t.Helper()
	args = append([]string{"-I", nixpkgsArg(t)}, args...)
	r := runEnv(t, env, nixDocker(t), args...)
	if r.code != 0 {
		t.Fatalf("nix-docker %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// runEnv runs a command with extra environment variables.
func runEnv(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
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

// imageInfo is the part of docker image inspect the tests read.
type imageInfo struct {
	ID      string `json:"Id"`
	Created string
	Size    int64
	RootFS  struct{ Layers []string }
	Config  struct {
		Labels map[string]string
	}
}

func inspectImage(t *testing.T, ref string) imageInfo {
	t.Helper()
	var info []imageInfo
	if err := json.Unmarshal([]byte(must(t, "docker", "image", "inspect", ref)), &info); err != nil || len(info) != 1 {
		t.Fatalf("docker image inspect %s: %v", ref, err)
	}
	return info[0]
}

// removeImages removes images by ID or name when the test ends.
func removeImages(t *testing.T, refs ...string) {
	t.Cleanup(func() {
		for _, r := range refs {
			run(t, "docker", "rmi", "-f", r)
		}
	})
}

// copyWebapp copies the webapp example into a temp dir (outside git, so
// its images say 1970) and returns the app file.
func copyWebapp(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "webapp")
	must(t, "cp", "-r", repo(t, "examples", "webapp"), dir)
	return filepath.Join(dir, "app.hcl")
}

// gitWebapp copies the webapp example into a new git repository, commits
// app.hcl at date, then the rest a day later, and returns the app file.
func gitWebapp(t *testing.T, date string) string {
	t.Helper()
	app := copyWebapp(t)
	dir := filepath.Dir(app)
	later, err := time.Parse(time.RFC3339, date)
	if err != nil {
		t.Fatal(err)
	}
	git := func(when string, args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+when, "GIT_COMMITTER_DATE="+when)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(date, "init", "-q")
	git(date, "add", "app.hcl")
	git(date, "commit", "-q", "-m", "app")
	git(later.Add(24*time.Hour).Format(time.RFC3339), "add", ".")
	git(later.Add(24*time.Hour).Format(time.RFC3339), "commit", "-q", "-m", "the rest")
	return app
}

// TestReproducible builds the webapp example twice: same image ID and
// layers. Its creation time is app.hcl's last commit time, or
// SOURCE_DATE_EPOCH, which changes the config only, never a layer.
func TestReproducible(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	tag := unique("nix-docker-e2e/repro") + ":test"
	app := repo(t, "examples", "webapp", "app.hcl")

	a := parseLoad(t, buildOK(t, nil, "-b", "-t", tag, app).stderr)
	removeImages(t, tag, a.id)
	b := parseLoad(t, buildOK(t, nil, "-b", "-t", tag, app).stderr)
	if a.id != b.id {
		t.Errorf("two builds of the same input: image IDs %s and %s, want equal", a.id, b.id)
	}
	if b.sent != 0 || b.bytes != 0 {
		t.Errorf("second build sent %d layers (%d bytes), want none", b.sent, b.bytes)
	}
	info := inspectImage(t, tag)
	// In a repository of the test's own, app.hcl's last commit has a date
	// the test chose (and a later commit of another file must not count).
	committed := gitWebapp(t, "2001-02-03T04:05:06Z")
	ctag := unique("nix-docker-e2e/created") + ":test"
	cl := parseLoad(t, buildOK(t, nil, "-b", "-t", ctag, committed).stderr)
	removeImages(t, ctag, cl.id)
	if got, want := inspectImage(t, ctag).Created, time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC); !createdIs(got, want) {
		t.Errorf("Created = %s, want app.hcl's last commit time %s", got, want.Format(time.RFC3339))
	}

	env := []string{"SOURCE_DATE_EPOCH=1700000000"}
	c := parseLoad(t, buildOK(t, env, "-b", "-t", tag, app).stderr)
	removeImages(t, c.id)
	d := parseLoad(t, buildOK(t, env, "-b", "-t", tag, app).stderr)
	if c.id != d.id {
		t.Errorf("two builds with SOURCE_DATE_EPOCH: image IDs %s and %s, want equal", c.id, d.id)
	}
	if c.id == a.id {
		t.Errorf("SOURCE_DATE_EPOCH did not change the image ID %s", c.id)
	}
	withEpoch := inspectImage(t, tag)
	if want := time.Unix(1700000000, 0).UTC(); !createdIs(withEpoch.Created, want) {
		t.Errorf("with SOURCE_DATE_EPOCH=1700000000: Created = %s, want %s", withEpoch.Created, want.Format(time.RFC3339))
	}
	if strings.Join(withEpoch.RootFS.Layers, " ") != strings.Join(info.RootFS.Layers, " ") {
		t.Errorf("SOURCE_DATE_EPOCH changed the layers:\n%v\nwant\n%v", withEpoch.RootFS.Layers, info.RootFS.Layers)
	}
	if d.sent != 0 {
		t.Errorf("rebuild with SOURCE_DATE_EPOCH sent %d layers, want 0 (only the config changed)", d.sent)
	}
}

func createdIs(s string, want time.Time) bool {
	got, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && got.Equal(want)
}

// engineCounter is a proxy in front of the Docker engine's socket that
// counts the bytes of every image load request body it forwards: what
// the engine was actually sent, measured outside nix-docker.
type engineCounter struct {
	host  string // DOCKER_HOST for the proxy
	mu    sync.Mutex
	bytes int64
	loads int
}

func countEngine(t *testing.T) *engineCounter {
	t.Helper()
	target := "/var/run/docker.sock"
	if h, ok := strings.CutPrefix(os.Getenv("DOCKER_HOST"), "unix://"); ok {
		target = h
	} else if os.Getenv("DOCKER_HOST") != "" {
		t.Fatalf("the byte counter proxies a unix socket; DOCKER_HOST is %s", os.Getenv("DOCKER_HOST"))
	}
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c := &engineCounter{host: "unix://" + sock}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", target)
		}},
		FlushInterval: -1,
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/images/load") {
			body := &countingBody{r: r.Body}
			r.Body = body
			defer func() {
				c.mu.Lock()
				c.bytes += body.n
				c.loads++
				c.mu.Unlock()
			}()
		}
		proxy.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return c
}

// take returns the bytes and loads counted since the last take.
func (c *engineCounter) take() (int64, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, n := c.bytes, c.loads
	c.bytes, c.loads = 0, 0
	return b, n
}

type countingBody struct {
	r io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *countingBody) Close() error { return b.r.Close() }

// checkCounted checks nix-docker's report of bytes sent against the
// proxy's count: equal to the report's precision (one decimal of the
// unit it prints), and > 0 when layers were sent.
func checkCounted(t *testing.T, what string, st loadStats, stderr string, c *engineCounter) {
	t.Helper()
	counted, loads := c.take()
	m := loadLine.FindStringSubmatch(stderr)
	unit := map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20}[m[4]]
	if diff := math.Abs(float64(counted) - float64(st.bytes)); diff > 0.05*unit+1 {
		t.Errorf("%s: nix-docker reports %s %s sent, the engine was sent %d bytes in %d loads", what, m[3], m[4], counted, loads)
	}
	if st.sent > 0 && (st.bytes <= 0 || counted <= 0) {
		t.Errorf("%s: %d layers sent in %d bytes (counted %d), want > 0", what, st.sent, st.bytes, counted)
	}
}

// TestIncremental builds the webapp as v1, changes one line of the Node
// app and builds it as v2, another tag: the engine's holdings come from
// every image nix-docker built there, so v2 sends the app's layer only
// (one layer, under 1 MiB: the root filesystem's entries, whose /etc
// links name the system path, ride in it), as a proxy in front of the
// engine counts. Then it checks that a failed build leaves
// the tag alone and that prune removes the old image and nothing else.
func TestIncremental(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	name := unique("nix-docker-e2e/incr")
	tag := name + ":v2"
	// Other tests build the same webapp in the same engine at the same
	// time: uniqueApp's line of this test's own makes its app layer its
	// own, so the first load must send it.
	app := uniqueApp(t)
	counter := countEngine(t)
	env := []string{"DOCKER_HOST=" + counter.host}

	r := buildOK(t, env, "-b", "-t", name+":v1", app)
	first := parseLoad(t, r.stderr)
	removeImages(t, name+":v1", tag, first.id)
	checkCounted(t, "first load", first, r.stderr, counter)
	info := inspectImage(t, name+":v1")
	if !createdIs(info.Created, time.Unix(1, 0)) {
		t.Errorf("Created = %s outside git without SOURCE_DATE_EPOCH, want the fixed 1970-01-01T00:00:01Z", info.Created)
	}
	// Other images nix-docker built in this engine may hold the bottom
	// layers (glibc's is the same in every webapp image): those are
	// skipped, the app's are sent.
	if n := len(info.RootFS.Layers); first.sent+first.skipped != n || first.sent < 1 || n > 16 {
		t.Errorf("first load sent %d and skipped %d layers of %d, want at least the app's sent, at most 16 in all (the default --max-layers)", first.sent, first.skipped, n)
	}

	server := filepath.Join(filepath.Dir(app), "app", "server.js")
	js, err := os.ReadFile(server)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(js), "Hello from nix-docker!", "Hello again from nix-docker!", 1)
	if changed == string(js) {
		t.Fatal("server.js no longer says \"Hello from nix-docker!\"; update this test")
	}
	if err := os.WriteFile(server, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	r = buildOK(t, env, "-b", "-t", tag, app)
	second := parseLoad(t, r.stderr)
	removeImages(t, second.id)
	checkCounted(t, "load after a one-line change", second, r.stderr, counter)
	t.Logf("v1: %d layers, %d bytes; v2 after a one-line change: %d layers (%d bytes) sent, %d skipped",
		first.sent, first.bytes, second.sent, second.bytes, second.skipped)
	if second.id == first.id {
		t.Fatalf("changing server.js did not change the image ID %s", second.id)
	}
	// The app's layer, which holds the root filesystem's entries too
	// (their /etc links name the system path).
	if second.sent != 1 || second.bytes <= 0 || second.bytes >= 1<<20 {
		t.Errorf("v2 after a one-line change sent %d layers, %d bytes; want 1 layer, > 0 and under 1 MiB", second.sent, second.bytes)
	}
	if second.sent+second.skipped != first.sent+first.skipped {
		t.Errorf("v2: %d sent + %d skipped, want v1's %d layers", second.sent, second.skipped, first.sent+first.skipped)
	}
	if got := must(t, "docker", "image", "inspect", "--format", "{{.Id}}", tag); got != second.id {
		t.Errorf("tag %s is on %s, want the rebuilt %s", tag, got, second.id)
	}

	// No change, under the first tag: nothing is sent, the tag moves.
	r = buildOK(t, env, "-b", "-t", name+":v1", app)
	again := parseLoad(t, r.stderr)
	checkCounted(t, "rebuild without a change", again, r.stderr, counter)
	if again.id != second.id || again.sent != 0 || again.bytes != 0 {
		t.Errorf("rebuild without a change: %s, %d layers (%d bytes) sent; want %s, nothing sent", again.id, again.sent, again.bytes, second.id)
	}

	ctr := unique("nix-docker-e2e-incr")
	must(t, "docker", "run", "-d", "--name", ctr, "-p", "127.0.0.1::8080", tag)
	t.Cleanup(func() { run(t, "docker", "rm", "-f", ctr) })
	url := "http://127.0.0.1:" + hostPort(t, ctr, "8080/tcp") + "/"
	if code, body := httpGet(t, url, 60*time.Second); code != 200 || !strings.Contains(body, "Hello again from nix-docker!") {
		t.Errorf("GET %s = %d %q, want the changed greeting", url, code, body)
	}
	run(t, "docker", "rm", "-f", ctr)

	t.Run("failed build keeps the tag", func(t *testing.T) {
		bad := filepath.Join(filepath.Dir(app), "bad.hcl")
		src := "service \"app\" {\n  command = \"${pkgs.doesNotExist}/bin/app\"\n}\n"
		if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		r := run(t, nixDocker(t), "-b", "-t", tag, "-I", nixpkgsArg(t), bad)
		if r.code == 0 {
			t.Fatalf("nix-docker with pkgs.doesNotExist: exit 0, want a failure")
		}
		if !strings.Contains(r.stderr, "doesNotExist") {
			t.Errorf("stderr does not name the missing attribute:\n%s", r.stderr)
		}
		if got := must(t, "docker", "image", "inspect", "--format", "{{.Id}}", tag); got != second.id {
			t.Errorf("after a failed nix-build, tag %s is on %s, want %s", tag, got, second.id)
		}
	})

	t.Run("prune", func(t *testing.T) {
		// An untagged image nix-docker did not build for this name.
		ctx := t.TempDir()
		other := unique("nix-docker-e2e/other") + ":test"
		var others []string
		for i := 0; i < 2; i++ {
			os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM scratch\nCOPY f /f\n"), 0o644)
			os.WriteFile(filepath.Join(ctx, "f"), []byte(fmt.Sprint(i, name)), 0o644)
			r := runEnv(t, []string{"DOCKER_BUILDKIT=0"}, "docker", "build", "-q", "-t", other, ctx)
			if r.code != 0 {
				t.Fatalf("docker build: %s", r.stderr)
			}
			others = append(others, strings.TrimSpace(r.stdout))
		}
		removeImages(t, append(others, other)...)

		// A cache of its own: prune also trims the layer cache, which
		// other builds on this machine use.
		r := runEnv(t, []string{"XDG_CACHE_HOME=" + t.TempDir()}, nixDocker(t), "prune", name)
		if r.code != 0 {
			t.Fatalf("nix-docker prune %s: exit %d\n%s", name, r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, first.id) {
			t.Errorf("prune output %q does not list the old image %s", r.stdout, first.id)
		}
		if got := run(t, "docker", "image", "inspect", first.id); got.code == 0 {
			t.Errorf("the old, untagged image %s is still there after prune", first.id)
		}
		if got := run(t, "docker", "image", "inspect", tag); got.code != 0 {
			t.Errorf("prune removed the tagged image %s", tag)
		}
		if got := run(t, "docker", "image", "inspect", others[0]); got.code != 0 {
			t.Errorf("prune removed %s, an untagged image of another app", others[0])
		}
	})
}

// TestFrom builds the webapp on a base image: a nix-docker image of
// Redis (read from its store-paths label), and an image made by a
// Dockerfile that copies Redis' closure (no label: its layers are
// listed). The shared layers are not sent again and every service runs.
func TestFrom(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	dir := t.TempDir()
	baseFile := filepath.Join(dir, "base.hcl")
	if err := os.WriteFile(baseFile, []byte("module \"redis\" {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := unique("nix-docker-e2e/base") + ":test"
	buildOK(t, nil, "-b", "-t", base, baseFile)
	removeImages(t, base)
	baseInfo := inspectImage(t, base)
	basePaths := strings.Fields(baseInfo.Config.Labels["org.nix-docker.store-paths"])
	if len(basePaths) < 3 {
		t.Fatalf("base image's store-paths label = %q, want its closure", basePaths)
	}
	var redisPath string
	for _, p := range basePaths {
		if strings.Contains(p, "-redis-") {
			redisPath = p
		}
	}
	if redisPath == "" {
		t.Fatalf("no redis in the base's store paths %v", basePaths)
	}

	check := func(t *testing.T, from string, baseLayers []string) {
		tag := unique("nix-docker-e2e/onbase") + ":test"
		r := buildOK(t, nil, "-b", "-t", tag, "--from", from, repo(t, "examples", "webapp", "app.hcl"))
		st := parseLoad(t, r.stderr)
		removeImages(t, tag, st.id)
		t.Logf("--from %s: %d layers sent (%d bytes), %d already in the engine", from, st.sent, st.bytes, st.skipped)
		if st.skipped < len(baseLayers) {
			t.Errorf("load skipped %d layers, want at least the base's %d", st.skipped, len(baseLayers))
		}
		info := inspectImage(t, tag)
		if len(info.RootFS.Layers) < len(baseLayers) || strings.Join(info.RootFS.Layers[:len(baseLayers)], " ") != strings.Join(baseLayers, " ") {
			t.Fatalf("layers %v do not start with the base's %v", info.RootFS.Layers, baseLayers)
		}
		history := must(t, "docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", tag)
		if strings.Contains(history, "nix-docker: "+redisPath) {
			t.Errorf("the image has its own layer for %s, which the base holds", redisPath)
		}
		labels := info.Config.Labels["org.nix-docker.store-paths"]
		if !strings.Contains(labels, redisPath) || !strings.Contains(labels, "-nodejs-") {
			t.Errorf("store-paths label lacks the base's or the app's paths: %q", labels)
		}
		ctr := unique("nix-docker-e2e-onbase")
		must(t, "docker", "run", "-d", "--name", ctr, "-p", "127.0.0.1::8080", "-p", "127.0.0.1::6379", "-p", "127.0.0.1::80", tag)
		t.Cleanup(func() { run(t, "docker", "rm", "-f", ctr) })
		url := "http://127.0.0.1:" + hostPort(t, ctr, "8080/tcp") + "/"
		if code, body := httpGet(t, url, 60*time.Second); code != 200 || !hits.MatchString(body) {
			t.Errorf("GET %s = %d %q, want a hit count", url, code, body)
		}
		if got := redisCommand(t, "127.0.0.1:"+hostPort(t, ctr, "6379/tcp"), "PING"); got != "+PONG" {
			t.Errorf("redis PING = %q, want +PONG", got)
		}
		// httpd, from the app's own layers on the base, serves www.
		index, err := os.ReadFile(repo(t, "examples", "webapp", "www", "index.html"))
		if err != nil || len(index) == 0 {
			t.Fatalf("examples/webapp/www/index.html: %v (%d bytes)", err, len(index))
		}
		web := "http://127.0.0.1:" + hostPort(t, ctr, "80/tcp") + "/"
		if code, body := httpGet(t, web, 60*time.Second); code != 200 || body != string(index) {
			t.Errorf("GET %s = %d %q, want 200 and www/index.html", web, code, body)
		}
	}

	t.Run("label", func(t *testing.T) { check(t, base, baseInfo.RootFS.Layers) })

	t.Run("no-label", func(t *testing.T) {
		// The Dockerfile+Nix way: one layer holding Redis' closure.
		ctx := t.TempDir()
		closure := strings.Fields(must(t, "nix-store", "-qR", redisPath))
		if err := os.MkdirAll(filepath.Join(ctx, "nix", "store"), 0o755); err != nil {
			t.Fatal(err)
		}
		must(t, "cp", append(append([]string{"-a"}, closure...), filepath.Join(ctx, "nix", "store"))...)
		t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", ctx).Run() })
		os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM scratch\nCOPY nix /nix\n"), 0o644)
		plain := unique("nix-docker-e2e/plainbase") + ":test"
		if r := runEnv(t, []string{"DOCKER_BUILDKIT=0"}, "docker", "build", "-q", "-t", plain, ctx); r.code != 0 {
			t.Fatalf("docker build: %s", r.stderr)
		}
		removeImages(t, plain)
		info := inspectImage(t, plain)
		if _, ok := info.Config.Labels["org.nix-docker.store-paths"]; ok {
			t.Fatal("the Dockerfile-built base has a store-paths label")
		}
		check(t, plain, info.RootFS.Layers)
	})
}

// TestOutputs writes the docker-archive and the OCI layout and checks
// them with outside tools (skopeo, umoci), and pipes -o - into docker
// load.
func TestOutputs(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	testutil.NeedCommand(t, "skopeo", "umoci")
	dir := t.TempDir()
	file := filepath.Join(dir, "app.hcl")
	if err := os.WriteFile(file, []byte("module \"redis\" {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := unique("nix-docker-e2e/out")
	archive := filepath.Join(dir, "image.tar")
	layout := filepath.Join(dir, "oci")
	r := buildOK(t, nil, "-b", "-t", name+":v1", "-o", archive, "--oci", layout, file)
	id := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("nix-docker -o printed %q, want the image ID", r.stdout)
	}
	if got := run(t, "docker", "image", "inspect", name+":v1"); got.code == 0 {
		run(t, "docker", "rmi", "-f", name+":v1")
		t.Errorf("-o and --oci loaded the image into the engine, want them instead of loading")
	}

	type skopeoInfo struct {
		Digest string
		Layers []string
		Labels map[string]string
	}
	inspect := func(ref string) skopeoInfo {
		var info skopeoInfo
		out := must(t, "skopeo", "inspect", ref)
		if err := json.Unmarshal([]byte(out), &info); err != nil {
			t.Fatalf("skopeo inspect %s: %v", ref, err)
		}
		return info
	}
	fromArchive := inspect("docker-archive:" + archive)
	fromOCI := inspect("oci:" + layout + ":v1")
	if len(fromArchive.Layers) < 3 || strings.Join(fromArchive.Layers, " ") != strings.Join(fromOCI.Layers, " ") {
		t.Errorf("layers: docker-archive %v, OCI %v; want the same, at least 3", fromArchive.Layers, fromOCI.Layers)
	}
	system := fromOCI.Labels["org.nix-docker.system"]
	if system == "" {
		t.Fatalf("OCI image has no system label: %v", fromOCI.Labels)
	}
	must(t, "umoci", "stat", "--image", layout+":v1")
	bundle := filepath.Join(dir, "bundle")
	must(t, "umoci", "unpack", "--rootless", "--image", layout+":v1", bundle)
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", bundle).Run() })
	for _, p := range []string{system + "/runspec.json", "etc/passwd", "tmp"} {
		if _, err := os.Lstat(filepath.Join(bundle, "rootfs", p)); err != nil {
			t.Errorf("unpacked OCI image: %v", err)
		}
	}

	// nix-docker -b -o - | docker load
	tag := name + ":piped"
	sh := fmt.Sprintf("%q -q -b -t %s -I %q -o - %q | docker load", nixDocker(t), tag, nixpkgsArg(t), file)
	out := must(t, "sh", "-c", sh)
	removeImages(t, tag)
	if !strings.Contains(out, "Loaded image: "+tag) {
		t.Errorf("docker load said %q, want it to load %s", out, tag)
	}
	if got := inspectImage(t, tag).ID; got != id {
		t.Errorf("piped image ID %s, want %s (same as the -o FILE build)", got, id)
	}
}

// TestHostStore builds the webapp without -b and runs it with
// result/bin/docker-run from the host's store.
func TestHostStore(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	dir := t.TempDir()
	link := filepath.Join(dir, "result")
	name := unique("nix-docker-e2e/host")
	r := buildOK(t, nil, "-t", name, "-o", link, repo(t, "examples", "webapp", "app.hcl"))
	target, err := os.Readlink(link)
	if err != nil {
		t.Fatalf("no out-link %s: %v\n%s", link, err, r.stderr)
	}
	if strings.TrimSpace(r.stdout) != target {
		t.Errorf("nix-docker printed %q, want the result %s", r.stdout, target)
	}
	if !strings.Contains(r.stderr, "nix-copy-closure --to HOST "+target) {
		t.Errorf("no nix-copy-closure recipe in:\n%s", r.stderr)
	}
	ctr := unique("nix-docker-e2e-host")
	// Removed last: the container, then the image docker-run loaded.
	removeImages(t, name)
	t.Cleanup(func() { run(t, "docker", "rm", "-f", ctr) })
	config, err := os.ReadFile(filepath.Join(link, "config.json"))
	if err != nil || len(config) == 0 {
		t.Fatalf("result/config.json: %v (%d bytes)", err, len(config))
	}
	wantID := fmt.Sprintf("sha256:%x", sha256.Sum256(config))
	held := run(t, "docker", "image", "inspect", wantID).code == 0
	before := time.Now()
	out := must(t, filepath.Join(link, "bin", "docker-run"), "-d", "--ip", "127.0.0.1", "--random-ports", "--name", ctr)
	imageID := must(t, "docker", "inspect", "--format", "{{.Image}}", ctr)
	if imageID != wantID {
		t.Errorf("docker-run ran image %s, want %s (the digest of result/config.json)", imageID, wantID)
	}
	// The counter of loads works: the first run loaded the image, unless
	// the engine held it already.
	if n := imageLoads(t, before, imageID); !held && n != 1 {
		t.Errorf("the first docker-run loaded %s %d times, want once", imageID, n)
	}
	if !strings.Contains(out, must(t, "docker", "inspect", "--format", "{{.Id}}", ctr)) {
		t.Errorf("docker-run -d printed %q, want the container ID", out)
	}
	info := inspectImage(t, imageID)
	if info.Size > 64<<10 {
		t.Errorf("metadata-only image is %d bytes, want a few KB", info.Size)
	}
	url := "http://127.0.0.1:" + hostPort(t, ctr, "8080/tcp") + "/"
	if code, body := httpGet(t, url, 60*time.Second); code != 200 || !hits.MatchString(body) {
		t.Errorf("GET %s = %d %q, want a hit count", url, code, body)
	}
	web := "http://127.0.0.1:" + hostPort(t, ctr, "80/tcp") + "/"
	if code, _ := httpGet(t, web, 30*time.Second); code != 200 {
		t.Errorf("GET %s = %d, want 200", web, code)
	}
	mounts := must(t, "docker", "inspect", "--format", "{{range .Mounts}}{{.Source}}:{{.Destination}}:{{.RW}} {{end}}", ctr)
	if !strings.Contains(mounts, "/nix/store:/nix/store:false") {
		t.Errorf("mounts %q, want the host's /nix/store read-only", mounts)
	}
	// A second run reuses the image: the engine records no load of it.
	must(t, "docker", "rm", "-f", ctr)
	before = time.Now()
	out = must(t, filepath.Join(link, "bin", "docker-run"), "-d", "--no-ports", "--name", ctr)
	if got := must(t, "docker", "inspect", "--format", "{{.Image}}", ctr); got != imageID {
		t.Errorf("second docker-run used image %s, want %s", got, imageID)
	}
	if n := imageLoads(t, before, imageID); n != 0 {
		t.Errorf("the second docker-run loaded %s again (%d loads), want it reused", imageID, n)
	}
}

// imageLoads counts the engine's load events for image id from since to
// now, from the engine's event log.
func imageLoads(t *testing.T, since time.Time, id string) int {
	t.Helper()
	until := time.Now().Add(time.Second)
	out := must(t, "docker", "events", "--since", fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()), "--until", strconv.FormatInt(until.Unix(), 10),
		"--filter", "type=image", "--filter", "event=load", "--format", "{{.ID}}")
	n := 0
	for _, l := range strings.Fields(out) {
		if l == id {
			n++
		}
	}
	return n
}
