package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

var hits = regexp.MustCompile(`viewed (\d+) times`)

// TestWebapp builds the webapp example as a new user would, runs it and
// checks every service, the stop sequence, the image's metadata and size,
// and that malformed input never moves the tag.
func TestWebapp(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	bin := nixDocker(t)
	tag := unique("nix-docker-e2e/webapp") + ":test"
	t.Cleanup(func() { run(t, "docker", "rmi", "-f", tag) })

	build := run(t, bin, "-b", "-t", tag, "-I", "nixpkgs="+repo(t, "testdata", "nixpkgs"), repo(t, "examples", "webapp", "app.hcl"))
	if build.code != 0 {
		t.Fatalf("nix-docker -b: exit %d\n%s", build.code, build.stderr)
	}
	imageID := must(t, "docker", "image", "inspect", "--format", "{{.Id}}", tag)
	if got := strings.TrimSpace(build.stdout); got != imageID {
		t.Errorf("nix-docker printed %q, want the image ID %q", got, imageID)
	}

	t.Run("inspect", func(t *testing.T) {
		var info []struct {
			Size   int64
			Config struct {
				Entrypoint   []string
				ExposedPorts map[string]struct{}
				Labels       map[string]string
				Healthcheck  struct{ Test []string }
			}
		}
		if err := json.Unmarshal([]byte(must(t, "docker", "image", "inspect", tag)), &info); err != nil || len(info) != 1 {
			t.Fatalf("docker image inspect: %v", err)
		}
		cfg := info[0].Config
		for _, p := range []string{"80/tcp", "6379/tcp", "8080/tcp"} {
			if _, ok := cfg.ExposedPorts[p]; !ok {
				t.Errorf("ExposedPorts = %v, want %s", cfg.ExposedPorts, p)
			}
		}
		if len(cfg.Entrypoint) != 2 || !strings.HasPrefix(cfg.Entrypoint[0], "/nix/store/") || !strings.HasSuffix(cfg.Entrypoint[0], "-nix-docker-init") {
			t.Fatalf("Entrypoint = %q, want the init in the store and its runspec", cfg.Entrypoint)
		}
		if want := []string{"CMD", cfg.Entrypoint[0], "ctl", "health"}; strings.Join(cfg.Healthcheck.Test, " ") != strings.Join(want, " ") {
			t.Errorf("Healthcheck = %q, want %q", cfg.Healthcheck.Test, want)
		}
		system := cfg.Labels["org.nix-docker.system"]
		if cfg.Entrypoint[1] != system+"/runspec.json" {
			t.Errorf("Entrypoint[1] = %q, want %s/runspec.json", cfg.Entrypoint[1], system)
		}
		// The image holds the closure and nothing else: its size is the
		// closure's (which includes the init), within 1 MiB + the init.
		out := must(t, "nix", "--extra-experimental-features", "nix-command", "path-info", "-S", system)
		fields := strings.Fields(out)
		closure, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
		if err != nil {
			t.Fatalf("nix path-info -S: %q", out)
		}
		st, err := os.Stat(cfg.Entrypoint[0])
		if err != nil {
			t.Fatal(err)
		}
		slack := st.Size() + 1<<20
		if d := info[0].Size - closure; d > slack || d < -slack {
			t.Errorf("image size %d, closure size %d: differ by %d, more than init + 1 MiB (%d)", info[0].Size, closure, d, slack)
		}
		t.Logf("image %d bytes, closure %d bytes, init %d bytes", info[0].Size, closure, st.Size())
	})

	t.Run("run", func(t *testing.T) {
		name := unique("nix-docker-e2e-webapp")
		must(t, "docker", "run", "-d", "--name", name,
			"-p", "127.0.0.1::8080", "-p", "127.0.0.1::80", "-p", "127.0.0.1::6379", tag)
		t.Cleanup(func() { run(t, "docker", "rm", "-f", name) })
		app := "http://127.0.0.1:" + hostPort(t, name, "8080/tcp") + "/"
		web := "http://127.0.0.1:" + hostPort(t, name, "80/tcp") + "/"
		redis := "127.0.0.1:" + hostPort(t, name, "6379/tcp")

		var counts []int
		for i := 0; i < 3; i++ {
			code, body := httpGet(t, app, 60*time.Second)
			m := hits.FindStringSubmatch(body)
			if code != 200 || m == nil {
				t.Fatalf("GET %s = %d %q, want 200 and a hit count", app, code, body)
			}
			n, _ := strconv.Atoi(m[1])
			counts = append(counts, n)
		}
		if counts[1] != counts[0]+1 || counts[2] != counts[1]+1 {
			t.Errorf("hit counts %v, want each one more than the last (kept in Redis)", counts)
		}
		if got := redisCommand(t, redis, "GET hits"); !strings.Contains(got, strconv.Itoa(counts[2])) {
			t.Errorf("redis GET hits = %q, want %d", got, counts[2])
		}
		if got := redisCommand(t, redis, "PING"); got != "+PONG" {
			t.Errorf("redis PING = %q, want +PONG", got)
		}
		index, err := os.ReadFile(repo(t, "examples", "webapp", "www", "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		if code, body := httpGet(t, web, 30*time.Second); code != 200 || body != string(index) {
			t.Errorf("GET %s = %d %q, want 200 and www/index.html", web, code, body)
		}

		// Docker runs the init's health check: healthy once all are ready.
		health := ""
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && health != "healthy"; time.Sleep(500 * time.Millisecond) {
			health = must(t, "docker", "inspect", "--format", "{{.State.Health.Status}}", name)
		}
		if health != "healthy" {
			t.Errorf("health = %q after 20 s, want healthy", health)
		}

		// The stop's bound is functional: the engine KILLs at -t 10 s,
		// which exit code 0 rules out. Its speed is bench/init.sh's.
		start := time.Now()
		must(t, "docker", "stop", "-t", "10", name)
		t.Logf("docker stop took %s", time.Since(start))
		if code := must(t, "docker", "inspect", "--format", "{{.State.ExitCode}}", name); code != "0" {
			t.Errorf("exit code after docker stop = %s, want 0 (137: the engine KILLed it)", code)
		}
		logs := run(t, "docker", "logs", name)
		all := logs.stdout + logs.stderr
		checkStopOrder(t, all, []string{"app", "redis", "web"}, [][2]string{{"app", "redis"}})
		if !strings.Contains(all, "init | all services stopped, exit 0") {
			t.Errorf("log does not end with a clean stop:\n%s", all)
		}
	})

	t.Run("malformed", func(t *testing.T) {
		cases := []struct {
			name, src string
			at        string // file:line:col
			want      string
		}{
			{"syntax", "service \"x\" {\n  command = \"/bin/true\"\n", "bad.hcl:1:13", "Unclosed configuration block"},
			{"unknown-attribute", "service \"x\" {\n  comand = \"/bin/true\"\n}\n", "bad.hcl:2:3", `Did you mean "command"?`},
			{"unknown-module", "module \"rediss\" {}\n", "bad.hcl:1:8", `Did you mean "redis"?`},
			{"number-for-string", "service \"x\" {\n  command = 42\n}\n", "bad.hcl:2:13", "string required, got number"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				dir := t.TempDir()
				file := filepath.Join(dir, "bad.hcl")
				if err := os.WriteFile(file, []byte(c.src), 0o644); err != nil {
					t.Fatal(err)
				}
				fresh := unique("nix-docker-e2e/never") + ":test"
				// Run from the file's directory so the message names bad.hcl.
				r := runIn(t, dir, bin, "-b", "-t", tag, "-I", "nixpkgs="+repo(t, "testdata", "nixpkgs"), "bad.hcl")
				if r.code == 0 {
					t.Fatalf("exit 0 for malformed input, want non-zero")
				}
				if !strings.Contains(r.stderr, c.at+": error: ") || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, " | ") {
					t.Errorf("stderr:\n%s\nwant %q, %q and a source snippet", r.stderr, c.at+": error: ", c.want)
				}
				if id := must(t, "docker", "image", "inspect", "--format", "{{.Id}}", tag); id != imageID {
					t.Errorf("tag %s moved to %s after a failed build, want it on %s", tag, id, imageID)
				}
				r = runIn(t, dir, bin, "-b", "-t", fresh, "-I", "nixpkgs="+repo(t, "testdata", "nixpkgs"), "bad.hcl")
				if r.code == 0 {
					t.Fatalf("exit 0 for malformed input, want non-zero")
				}
				if got := run(t, "docker", "image", "inspect", fresh); got.code == 0 {
					run(t, "docker", "rmi", "-f", fresh)
					t.Errorf("a failed build tagged %s", fresh)
				}
			})
		}
	})
}

// checkStopOrder checks the init's log of a stop: every service got TERM
// ("init | stopping S") and stopped ("init | S: stopped"), and in each
// pair {dependent, dependency} the dependent had stopped before the
// dependency got TERM.
func checkStopOrder(t *testing.T, log string, services []string, pairs [][2]string) {
	t.Helper()
	index := func(line string) int {
		i := strings.Index(log, line)
		if i < 0 {
			t.Errorf("log has no %q line:\n%s", line, log)
		}
		return i
	}
	stopping, stopped := map[string]int{}, map[string]int{}
	for _, svc := range services {
		stopping[svc] = index("init | stopping " + svc + "\n")
		stopped[svc] = index("init | " + svc + ": stopped")
		if stopping[svc] >= 0 && stopped[svc] >= 0 && stopped[svc] < stopping[svc] {
			t.Errorf("%s stopped before it got TERM:\n%s", svc, log)
		}
	}
	for _, p := range pairs {
		if stopped[p[0]] < 0 || stopping[p[1]] < 0 {
			continue // reported above
		}
		if stopped[p[0]] > stopping[p[1]] {
			t.Errorf("%s got TERM before %s (which starts after it) had stopped:\n%s", p[1], p[0], log)
		}
	}
}
