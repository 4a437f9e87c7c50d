package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// buildExample builds examples/NAME/app.hcl into a unique tag, removed
// when the test ends.
func buildExample(t *testing.T, name string) string {
	t.Helper()
	return buildFile(t, repo(t, "examples", name, "app.hcl"), name)
}

func buildFile(t *testing.T, file, name string) string {
	t.Helper()
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	bin := nixDocker(t)
	tag := unique("nix-docker-e2e/"+name) + ":test"
	t.Cleanup(func() { run(t, "docker", "rmi", "-f", tag) })
	r := run(t, bin, "-b", "-q", "-t", tag, "-I", "nixpkgs="+repo(t, "testdata", "nixpkgs"), file)
	if r.code != 0 {
		t.Fatalf("nix-docker -b %s: exit %d\n%s", file, r.code, r.stderr)
	}
	return tag
}

// startContainer runs tag with the given container ports published on
// 127.0.0.1 and returns the container's name and host ports by port.
func startContainer(t *testing.T, tag string, ports ...string) (string, map[string]string) {
	t.Helper()
	name := unique("nix-docker-e2e")
	args := []string{"run", "-d", "--name", name}
	for _, p := range ports {
		args = append(args, "-p", "127.0.0.1::"+p)
	}
	must(t, "docker", append(args, tag)...)
	t.Cleanup(func() {
		if t.Failed() {
			logs := run(t, "docker", "logs", name)
			t.Logf("logs of %s:\n%s%s", name, logs.stdout, logs.stderr)
		}
		run(t, "docker", "rm", "-f", name)
	})
	hp := map[string]string{}
	for _, p := range ports {
		hp[p] = hostPort(t, name, p+"/tcp")
	}
	return name, hp
}

func TestStaticSite(t *testing.T) {
	t.Parallel()
	tag := buildExample(t, "static-site")
	_, ports := startContainer(t, tag, "8080")
	base := "http://127.0.0.1:" + ports["8080"]
	if code, body := httpGet(t, base+"/", 60*time.Second); code != 200 || !strings.Contains(body, "A static site built by nix-docker") {
		t.Errorf("GET / = %d %q", code, body)
	}
	if code, body := httpGet(t, base+"/about", 10*time.Second); code != 200 || !strings.Contains(body, "<h1>About</h1>") {
		t.Errorf("GET /about (clean URL for about.html) = %d %q", code, body)
	}
	if code, _ := httpGet(t, base+"/missing", 10*time.Second); code != 404 {
		t.Errorf("GET /missing = %d, want 404", code)
	}
	req, _ := http.NewRequest("GET", base+"/style.css", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("GET /style.css with gzip = %d, Content-Encoding %q, Content-Type %q; want 200, gzip, text/css",
			resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Type"))
	}
}

func TestNginxProxy(t *testing.T) {
	t.Parallel()
	tag := buildExample(t, "nginx-proxy")
	_, ports := startContainer(t, tag, "8080")
	base := "http://127.0.0.1:" + ports["8080"]
	want, _ := os.ReadFile(repo(t, "examples", "nginx-proxy", "public", "hello.txt"))
	if code, body := httpGet(t, base+"/hello.txt", 60*time.Second); code != 200 || body != string(want) {
		t.Errorf("GET /hello.txt = %d %q, want the file from public/", code, body)
	}
	code, body := httpGet(t, base+"/api/items?x=1", 10*time.Second)
	var reply struct {
		Path         string
		ForwardedFor *string
	}
	if err := json.Unmarshal([]byte(body), &reply); code != 200 || err != nil || reply.Path != "/api/items?x=1" || reply.ForwardedFor == nil {
		t.Errorf("GET /api/items = %d %q, want the API's JSON reply through the proxy", code, body)
	}
}

func TestLighttpd(t *testing.T) {
	t.Parallel()
	tag := buildExample(t, "lighttpd")
	_, ports := startContainer(t, tag, "8080")
	want, _ := os.ReadFile(repo(t, "examples", "lighttpd", "www", "index.html"))
	if code, body := httpGet(t, "http://127.0.0.1:"+ports["8080"]+"/", 60*time.Second); code != 200 || body != string(want) {
		t.Errorf("GET / = %d %q, want www/index.html", code, body)
	}
}

// TestBrokenConfigFailsBuild: a config the server would refuse fails the
// build with the tool's own message, and nothing is tagged.
func TestBrokenConfigFailsBuild(t *testing.T) {
	t.Parallel()
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	bin := nixDocker(t)
	for _, c := range []struct{ name, src, want string }{
		{"nginx", "module \"web\" {\n  source       = \"nginx\"\n  port         = 8080\n  extra_config = \"bogus_directive on;\"\n}\n", `unknown directive "bogus_directive"`},
		{"httpd", "module \"web\" {\n  source        = \"httpd\"\n  document_root = \"/nonexistent-docroot\"\n}\n", "/nonexistent-docroot"},
		{"lighttpd", "module \"web\" {\n  source        = \"lighttpd\"\n  document_root = \"/srv\"\n  extra_config  = \"this is not lighttpd syntax\"\n}\n", "configfile"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "app.hcl")
			os.WriteFile(file, []byte(c.src), 0o644)
			tag := unique("nix-docker-e2e/broken") + ":test"
			r := run(t, bin, "-b", "-t", tag, "-I", "nixpkgs="+repo(t, "testdata", "nixpkgs"), file)
			if r.code == 0 {
				run(t, "docker", "rmi", "-f", tag)
				t.Fatalf("a broken %s config built", c.name)
			}
			if !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "check failed") {
				t.Errorf("stderr lacks the tool's message %q:\n%s", c.want, r.stderr)
			}
			// Reported at the module block that was given the bad values.
			if !strings.Contains(r.stderr, file+":1:1: error: Configuration check failed") {
				t.Errorf("stderr does not point at the module block (%s:1:1):\n%s", file, r.stderr)
			}
			if got := run(t, "docker", "image", "inspect", tag); got.code == 0 {
				run(t, "docker", "rmi", "-f", tag)
				t.Errorf("a failed build tagged %s", tag)
			}
		})
	}
}
