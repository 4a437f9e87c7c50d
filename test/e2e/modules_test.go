package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
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

func TestPHP(t *testing.T) {
	t.Parallel()
	tag := buildExample(t, "php")
	_, ports := startContainer(t, tag, "8080", "8081", "8082")
	for port, server := range map[string]string{"8080": "nginx", "8081": "Apache", "8082": "lighttpd"} {
		code, body := httpGet(t, "http://127.0.0.1:"+ports[port]+"/", 60*time.Second)
		if code != 200 || !strings.Contains(body, "says 6*7 = 42") || !strings.Contains(body, "served by "+server) || !strings.Contains(body, "script index.php") {
			t.Errorf("%s: GET / = %d %q, want the page rendered by PHP-FPM", server, code, body)
		}
	}
}

// storePath returns the store path of the image whose name contains
// pkg, from the image's store-paths label.
func storePath(t *testing.T, tag, pkg string) string {
	t.Helper()
	paths := must(t, "docker", "image", "inspect", "--format", `{{index .Config.Labels "org.nix-docker.store-paths"}}`, tag)
	// The package's own path: its name, then its version ("-postgresql-15.18",
	// not "-postgresql-init", a module's file, whose hash may sort first).
	version := regexp.MustCompile(regexp.QuoteMeta(pkg) + `[0-9]`)
	for _, p := range strings.Fields(paths) {
		if version.MatchString(p) {
			return p
		}
	}
	t.Fatalf("no store path with %q in %s", pkg, tag)
	return ""
}

// waitExec retries a command in the container until it succeeds.
func waitExec(t *testing.T, within time.Duration, container string, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := run(t, "docker", append([]string{"exec", container}, args...)...)
		if r.code == 0 {
			return strings.TrimSpace(r.stdout)
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker exec %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// databaseTest runs a database image on a fresh volume, writes a row,
// replaces the container by a new one on the same volume and reads the
// row back; the user logs in over TCP with the password given at run time.
func databaseTest(t *testing.T, example, pkg, volumePath, passwordVar string, client func(bin string, tcp bool, sql string) []string) {
	tag := buildExample(t, example)
	bin := storePath(t, tag, pkg)
	volume := unique("nix-docker-e2e-vol")
	t.Cleanup(func() { run(t, "docker", "volume", "rm", "-f", volume) })
	password := `pa'ss\word`
	start := func() string {
		name := unique("nix-docker-e2e-db")
		must(t, "docker", "run", "-d", "--name", name, "-e", passwordVar+"="+password, "-v", volume+":"+volumePath, tag)
		t.Cleanup(func() {
			if t.Failed() {
				logs := run(t, "docker", "logs", name)
				t.Logf("logs of %s:\n%s%s", name, logs.stdout, logs.stderr)
			}
			run(t, "docker", "rm", "-f", name)
		})
		return name
	}
	first := start()
	waitExec(t, 90*time.Second, first, client(bin, false, "SELECT 1")...)
	waitExec(t, 10*time.Second, first, client(bin, false, "CREATE TABLE kept (x INT); INSERT INTO kept VALUES (42)")...)
	if got := waitExec(t, 10*time.Second, first, client(bin, true, "SELECT x FROM kept")...); got != "42" {
		t.Errorf("over TCP with the run-time password: SELECT x = %q, want 42", got)
	}
	must(t, "docker", "stop", first)
	if code := must(t, "docker", "inspect", "--format", "{{.State.ExitCode}}", first); code != "0" {
		t.Errorf("exit code after docker stop = %s, want 0", code)
	}
	run(t, "docker", "rm", "-f", first)

	second := start()
	if got := waitExec(t, 90*time.Second, second, client(bin, false, "SELECT x FROM kept")...); got != "42" {
		t.Errorf("after a new container on the same volume: SELECT x = %q, want 42", got)
	}
}

func TestPostgreSQL(t *testing.T) {
	t.Parallel()
	databaseTest(t, "postgresql", "-postgresql-", "/var/lib/postgresql", "POSTGRES_PASSWORD", func(bin string, tcp bool, sql string) []string {
		if tcp {
			// The image has no env(1): the password goes in the URL.
			return []string{bin + "/bin/psql", "postgresql://app:" + url.QueryEscape("pa'ss\\word") + "@127.0.0.1/app", "-v", "ON_ERROR_STOP=1", "-Atc", sql}
		}
		return []string{bin + "/bin/psql", "-h", "/run/postgresql", "-U", "app", "-d", "app", "-v", "ON_ERROR_STOP=1", "-Atc", sql}
	})
}

func TestMySQL(t *testing.T) {
	t.Parallel()
	databaseTest(t, "mysql", "-mariadb-server-", "/var/lib/mysql", "MYSQL_PASSWORD", func(bin string, tcp bool, sql string) []string {
		args := []string{bin + "/bin/mariadb", "--no-defaults", "-uapp", "-ppa'ss\\word", "-N", "-B"}
		if tcp {
			args = append(args, "-h127.0.0.1", "--protocol=tcp")
		} else {
			args = append(args, "--socket=/run/mysqld/mysqld.sock")
		}
		return append(args, "app", "-e", sql)
	})
}

// TestTwoRedis: two instances of one module in one image, a pinned package
// set (no -I given) recorded in the labels, and nix() for a package.
func TestTwoRedis(t *testing.T) {
	t.Parallel()
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	bin := nixDocker(t)
	tag := unique("nix-docker-e2e/two-redis") + ":test"
	t.Cleanup(func() { run(t, "docker", "rmi", "-f", tag) })
	if r := run(t, bin, "-b", "-q", "-t", tag, repo(t, "examples", "two-redis", "app.hcl")); r.code != 0 {
		t.Fatalf("nix-docker -b (pinned, no -I): exit %d\n%s", r.code, r.stderr)
	}
	pin := must(t, "docker", "image", "inspect", "--format", `{{index .Config.Labels "org.nix-docker.nixpkgs"}}`, tag)
	if want, _ := filepath.Abs(repo(t, "testdata", "nixpkgs")); pin != want {
		t.Errorf("label org.nix-docker.nixpkgs = %q, want %q", pin, want)
	}
	_, ports := startContainer(t, tag, "6380", "6381")
	for _, p := range []string{"6380", "6381"} {
		addr := "127.0.0.1:" + ports[p]
		// Docker's proxy accepts connections before Redis listens: wait
		// for a real reply, not for a connect.
		deadline := time.Now().Add(60 * time.Second)
		for !redisAnswers(addr) {
			if time.Now().After(deadline) {
				t.Fatalf("redis on %s never answered PING", p)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if got := redisCommand(t, addr, "CONFIG GET port"); !strings.Contains(got, p) {
			t.Errorf("redis published as %s says its port is %q", p, got)
		}
		if got := redisCommand(t, addr, "PING"); got != "+PONG" {
			t.Errorf("redis %s PING = %q", p, got)
		}
	}
	if got := redisCommand(t, "127.0.0.1:"+ports["6381"], "CONFIG GET dir"); !strings.Contains(got, "/var/lib/sessions") {
		t.Errorf("sessions' dir = %q, want /var/lib/sessions", got)
	}
}

// redisAnswers tells whether Redis at addr answers PING.
func redisAnswers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	buf := make([]byte, 16)
	n, _ := c.Read(buf)
	return strings.HasPrefix(string(buf[:n]), "+PONG")
}
