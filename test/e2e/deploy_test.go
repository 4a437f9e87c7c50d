package e2e

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// deployApp is a one-service app: busybox's httpd serving www/, where
// index.html says which version this is.
const deployApp = `image {
  ports = [8080]
}

service "web" {
  command = "${pkgs.busybox}/bin/busybox httpd -f -p 8080 -h ${path("www")}"
  ready {
    tcp = 8080
  }
}
`

// TestDeploy pushes to a bare repository with the hook installed, with
// real git, Nix and Docker: good pushes replace the serving container; a
// push that does not build, one whose service never gets ready and one
// whose container cannot take its ports are rejected, and the version
// that served before still serves.
func TestDeploy(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is not installed")
	}
	bin := nixDocker(t)
	dir := t.TempDir()
	name := unique("nde2e-deploy")
	bare := filepath.Join(dir, name+".git")
	must(t, "git", "init", "-q", "--bare", "--initial-branch=main", bare)
	t.Cleanup(func() { removeDeployment(t, name) })

	port, extra := freePort(t), freePort(t)
	// Settings baked into the hook, and one in git config.
	must(t, bin, "deploy", "--install", bare, "-I", "nixpkgs="+repo(t, "testdata", "nixpkgs"), "--timeout", "30s")
	gitIn(t, bare, "config", "--add", "nix-docker.port", port+":8080")
	work := filepath.Join(dir, "work")
	must(t, "git", "clone", "-q", bare, work)
	url := "http://127.0.0.1:" + port + "/"

	commit := func(files map[string]string) string {
		t.Helper()
		for f, text := range files {
			os.MkdirAll(filepath.Dir(filepath.Join(work, f)), 0o755)
			if err := os.WriteFile(filepath.Join(work, f), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		gitIn(t, work, "add", "-A")
		gitIn(t, work, "commit", "-q", "-m", "change")
		return gitIn(t, work, "rev-parse", "HEAD")
	}
	push := func() result {
		t.Helper()
		return runIn(t, work, "git", "push", "-q", "origin", "HEAD:main")
	}
	serving := func() string {
		t.Helper()
		return must(t, "docker", "ps", "-q", "--no-trunc", "--filter", "label=org.nix-docker.deploy.app="+name)
	}

	// 1. The first push deploys.
	commit(map[string]string{"app.hcl": deployApp, "www/index.html": "version one\n"})
	if r := push(); r.code != 0 || !strings.Contains(r.stderr, "remote: -----> Deployed") {
		t.Fatalf("first push: exit %d\n%s", r.code, r.stderr)
	}
	if code, body := httpGet(t, url, 30*time.Second); code != 200 || body != "version one\n" {
		t.Fatalf("after the first push, GET %s = %d %q", url, code, body)
	}

	// 2. The second replaces it; a client polling all along sees the gap.
	rev2 := commit(map[string]string{"www/index.html": "version two\n"})
	poll := startPolling(url)
	r := push()
	gap, failures := poll.stop()
	if r.code != 0 || !strings.Contains(r.stderr, "Trying the new version") || !strings.Contains(r.stderr, "Retired "+name+"-") {
		t.Fatalf("second push: exit %d\n%s", r.code, r.stderr)
	}
	if _, body := httpGet(t, url, 30*time.Second); body != "version two\n" {
		t.Fatalf("after the second push, GET = %q, want version two", body)
	}
	t.Logf("deploy downtime seen by a client polling every 50 ms: longest gap %s, %d failed requests", gap.Round(10*time.Millisecond), failures)
	for _, want := range []string{"stopped the old in", "the ports were not served for"} {
		if line := grepLine(r.stderr, want); line != "" {
			t.Logf("the hook reported: %s", strings.TrimSpace(strings.TrimPrefix(line, "remote:")))
		}
	}
	before := serving()
	if strings.Count(before, "\n") != 0 || before == "" {
		t.Fatalf("serving containers after two pushes: %q, want one", before)
	}
	if tags := must(t, "docker", "images", "--format", "{{.Tag}}", name); !sameLines(tags, "latest\n"+rev2[:12]) {
		t.Errorf("images of %s: %q, want latest and %s", name, tags, rev2[:12])
	}

	stillServing := func(what string) {
		t.Helper()
		if _, body := httpGet(t, url, 10*time.Second); body != "version two\n" {
			t.Errorf("after %s, GET = %q, want version two still", what, body)
		}
		if now := serving(); now != before {
			t.Errorf("after %s the serving container is %q, want %q untouched", what, now, before)
		}
		if head := gitIn(t, bare, "rev-parse", "main"); head != rev2 {
			t.Errorf("after %s main is at %s, want %s: the push was not rejected", what, head, rev2)
		}
		if left := must(t, "docker", "ps", "-aq", "--filter", "label=org.nix-docker.deploy.app="+name); left != before[:12] && !strings.HasPrefix(before, left) {
			t.Errorf("after %s the containers are %q, want only the serving one", what, left)
		}
	}

	// 3. A syntax error: rejected, with the position shown to the pusher.
	commit(map[string]string{"app.hcl": "image {\n  ports = [8080\n}\n"})
	r = push()
	if r.code == 0 || !strings.Contains(r.stderr, "remote: app.hcl:3:1: error: Missing item separator") || !strings.Contains(r.stderr, "pre-receive hook declined") {
		t.Errorf("push with a syntax error: exit %d\n%s", r.code, r.stderr)
	}
	stillServing("a push that does not build")
	gitIn(t, work, "reset", "-q", "--hard", rev2)

	// 4. A service that never gets ready: its trial fails; rejected.
	commit(map[string]string{
		"app.hcl":        strings.Replace(deployApp, "tcp = 8080", "tcp = 9999", 1),
		"www/index.html": "version three\n",
	})
	r = push()
	if r.code == 0 || !strings.Contains(r.stderr, "did not become healthy in its trial container") || !strings.Contains(r.stderr, "not ready: web") {
		t.Errorf("push of a never-ready service: exit %d\n%s", r.code, r.stderr)
	}
	stillServing("a push whose service never gets ready")
	gitIn(t, work, "reset", "-q", "--hard", rev2)

	// 5. A new port whose host port is taken: the trial passes (it
	// publishes nothing), the real start fails, the old one serves again.
	gitIn(t, bare, "config", "--add", "nix-docker.port", extra+":8081")
	hold, err := net.Listen("tcp", "127.0.0.1:"+extra)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	commit(map[string]string{
		"app.hcl":        strings.Replace(deployApp, "ports = [8080]", "ports = [8080, 8081]", 1),
		"www/index.html": "version four\n",
	})
	r = push()
	if r.code == 0 || !strings.Contains(r.stderr, "rolled back: "+name+"-"+rev2[:12]+" serves again") {
		t.Errorf("push whose port is taken: exit %d\n%s", r.code, r.stderr)
	}
	if _, body := httpGet(t, url, 30*time.Second); body != "version two\n" {
		t.Errorf("after the rollback, GET = %q, want version two", body)
	}
	if head := gitIn(t, bare, "rev-parse", "main"); head != rev2 {
		t.Errorf("after the rollback main is at %s, want %s", head, rev2)
	}
}

// gitIn runs git in dir with a fixed identity and returns its trimmed
// output.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.org", "GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.org")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// removeDeployment removes a deployment's containers, images and named
// volumes.
func removeDeployment(t *testing.T, name string) {
	if ids := strings.Fields(run(t, "docker", "ps", "-aq", "--filter", "label=org.nix-docker.deploy.app="+name).stdout); len(ids) > 0 {
		run(t, "docker", append([]string{"rm", "-f", "-v"}, ids...)...)
	}
	for _, tag := range strings.Fields(run(t, "docker", "images", "--format", "{{.Repository}}:{{.Tag}}", name).stdout) {
		run(t, "docker", "rmi", tag)
	}
	for _, v := range strings.Fields(run(t, "docker", "volume", "ls", "-q", "--filter", "name="+name+"-").stdout) {
		if strings.HasPrefix(v, name+"-") {
			run(t, "docker", "volume", "rm", v)
		}
	}
}

// TestDeployWebapp deploys the webapp example (Node.js, Redis, httpd) by
// git push, with Redis' directory declared a volume, and pushes a change:
// the new container gets the same named volume, so the hit count Redis
// saved when the old one stopped goes on.
func TestDeployWebapp(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	bin := nixDocker(t)
	dir := t.TempDir()
	name := unique("nde2e-webapp")
	bare := filepath.Join(dir, name+".git")
	must(t, "git", "init", "-q", "--bare", "--initial-branch=main", bare)
	t.Cleanup(func() { removeDeployment(t, name) })
	appPort, webPort, redisPort := freePort(t), freePort(t), freePort(t)
	must(t, bin, "deploy", "--install", bare, "-I", "nixpkgs="+repo(t, "testdata", "nixpkgs"),
		"--port", appPort+":8080", "--port", webPort+":80", "--port", redisPort+":6379")
	work := filepath.Join(dir, "work")
	must(t, "git", "clone", "-q", bare, work)
	src := repo(t, "examples", "webapp")
	if out, err := exec.Command("cp", "-R", filepath.Join(src, "app"), filepath.Join(src, "www"), work).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	hcl, err := os.ReadFile(filepath.Join(src, "app.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(hcl), "volumes") {
		t.Fatal("examples/webapp/app.hcl declares volumes already; this test adds Redis' directory as one")
	}
	withVolume := string(hcl) + "\nimage {\n  volumes = [\"/var/lib/redis\"]\n}\n"
	os.WriteFile(filepath.Join(work, "app.hcl"), []byte(withVolume), 0o644)
	gitIn(t, work, "add", "-A")
	gitIn(t, work, "commit", "-q", "-m", "webapp")
	if r := runIn(t, work, "git", "push", "-q", "origin", "HEAD:main"); r.code != 0 {
		t.Fatalf("first push: exit %d\n%s", r.code, r.stderr)
	}
	app := "http://127.0.0.1:" + appPort + "/"
	for i := 1; i <= 2; i++ {
		if _, body := httpGet(t, app, 30*time.Second); !strings.Contains(body, "viewed "+strconv.Itoa(i)+" times") {
			t.Fatalf("request %d to the app = %q", i, body)
		}
	}
	if code, _ := httpGet(t, "http://127.0.0.1:"+webPort+"/", 30*time.Second); code != 200 {
		t.Errorf("httpd answers %d", code)
	}
	if pong := redisCommand(t, "127.0.0.1:"+redisPort, "PING"); pong != "+PONG" {
		t.Errorf("redis answers %q", pong)
	}
	if vols := must(t, "docker", "volume", "ls", "-q", "--filter", "name="+name+"-var-lib-redis"); vols != name+"-var-lib-redis" {
		t.Errorf("volumes = %q, want %s-var-lib-redis", vols, name)
	}

	os.WriteFile(filepath.Join(work, "www", "index.html"), []byte("<p>version two</p>\n"), 0o644)
	gitIn(t, work, "commit", "-q", "-am", "a new page")
	if r := runIn(t, work, "git", "push", "-q", "origin", "HEAD:main"); r.code != 0 || !strings.Contains(r.stderr, "Retired") {
		t.Fatalf("second push: exit %d\n%s", r.code, r.stderr)
	}
	if _, body := httpGet(t, "http://127.0.0.1:"+webPort+"/", 30*time.Second); body != "<p>version two</p>\n" {
		t.Errorf("after the second push httpd serves %q", body)
	}
	if _, body := httpGet(t, app, 30*time.Second); !strings.Contains(body, "viewed 3 times") {
		t.Errorf("after the second push the app says %q, want the count to go on (viewed 3 times)", body)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// poller requests a URL every 50 ms and records the longest stretch in
// which requests failed.
type poller struct {
	done     chan struct{}
	wg       sync.WaitGroup
	gap      time.Duration
	failures int
}

func startPolling(url string) *poller {
	p := &poller{done: make(chan struct{})}
	client := &http.Client{Timeout: time.Second}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		var downSince time.Time
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			resp, err := client.Get(url)
			ok := err == nil && resp.StatusCode == 200
			if err == nil {
				resp.Body.Close()
			}
			switch {
			case !ok && downSince.IsZero():
				downSince = time.Now()
				p.failures++
			case !ok:
				p.failures++
			case ok && !downSince.IsZero():
				p.gap = max(p.gap, time.Since(downSince))
				downSince = time.Time{}
			}
			select {
			case <-p.done:
				if !downSince.IsZero() {
					p.gap = max(p.gap, time.Since(downSince))
				}
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *poller) stop() (time.Duration, int) {
	close(p.done)
	p.wg.Wait()
	return p.gap, p.failures
}

func grepLine(text, substr string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, substr) {
			return line
		}
	}
	return ""
}

func sameLines(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	if len(x) != len(y) {
		return false
	}
	seen := map[string]int{}
	for _, s := range x {
		seen[s]++
	}
	for _, s := range y {
		if seen[s]--; seen[s] < 0 {
			return false
		}
	}
	return true
}
