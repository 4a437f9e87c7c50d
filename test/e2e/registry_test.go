package e2e

import (
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// pushLine is what nix-docker prints after a push.
var pushLine = regexp.MustCompile(`pushed (sha256:[0-9a-f]{64}) as (\S+)@(sha256:[0-9a-f]{64}) in [0-9.]+s: (\d+) layers? uploaded \(([0-9.]+) (B|KiB|MiB)\), (\d+) mounted from another repository, (\d+) already in the registry`)

// pushStats is one push as nix-docker reported it.
type pushStats struct {
	id, ref, manifest      string
	sent, mounted, skipped int
	bytes                  int64
}

func parsePush(t *testing.T, stderr string) pushStats {
	t.Helper()
	m := pushLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no push report in nix-docker's output:\n%s", stderr)
	}
	n := func(s string) int { i, _ := strconv.Atoi(s); return i }
	f, _ := strconv.ParseFloat(m[5], 64)
	switch m[6] {
	case "KiB":
		f *= 1 << 10
	case "MiB":
		f *= 1 << 20
	}
	return pushStats{id: m[1], ref: m[2], manifest: m[3], sent: n(m[4]), bytes: int64(f), mounted: n(m[7]), skipped: n(m[8])}
}

// pushEnv is a push's environment: its own layer cache, Docker config
// directory and CA bundle (when set).
type pushEnv struct {
	cache, dockerConfig, caFile string
}

func (e pushEnv) vars() []string {
	v := []string{"XDG_CACHE_HOME=" + e.cache, "DOCKER_CONFIG=" + e.dockerConfig}
	if e.caFile != "" {
		v = append(v, "SSL_CERT_FILE="+e.caFile)
	}
	return v
}

// dockerConfig writes a Docker config directory whose config.json is
// body.
func dockerConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// authConfig is a Docker config with a user and password for host, as
// docker login leaves it without a credential store.
func authConfig(t *testing.T, host, user, password string) string {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	return dockerConfig(t, fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth))
}

// pulledID pulls ref into the engine (with the Docker config dir) and
// returns the image ID the engine gives it.
func pulledID(t *testing.T, dockerCfg, ref string) string {
	t.Helper()
	if r := run(t, "docker", "--config", dockerCfg, "pull", "-q", ref); r.code != 0 {
		t.Fatalf("docker pull %s: exit %d\n%s%s", ref, r.code, r.stdout, r.stderr)
	}
	return must(t, "docker", "image", "inspect", "--format", "{{.Id}}", ref)
}

// editServer rewrites the Node app's greeting: a one-line change.
func editServer(t *testing.T, app, greeting string) {
	t.Helper()
	server := filepath.Join(filepath.Dir(app), "app", "server.js")
	js, err := os.ReadFile(server)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`Hello[^"'<]*from nix-docker!`)
	if !re.Match(js) {
		t.Fatal("server.js no longer says \"Hello from nix-docker!\"; update this test")
	}
	if err := os.WriteFile(server, re.ReplaceAll(js, []byte(greeting)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// counterWorks runs ref and checks the hit counter counts.
func counterWorks(t *testing.T, ref, greeting string) {
	t.Helper()
	ctr := unique("nix-docker-e2e-push")
	must(t, "docker", "run", "-d", "--name", ctr, "-p", "127.0.0.1::8080", ref)
	defer run(t, "docker", "rm", "-f", ctr)
	url := "http://127.0.0.1:" + hostPort(t, ctr, "8080/tcp") + "/"
	var counts []int
	for i := 0; i < 2; i++ {
		code, body := httpGet(t, url, 60*time.Second)
		m := hits.FindStringSubmatch(body)
		if code != 200 || m == nil || !strings.Contains(body, greeting) {
			t.Fatalf("GET %s = %d %q, want 200, %q and a hit count", url, code, body, greeting)
		}
		n, _ := strconv.Atoi(m[1])
		counts = append(counts, n)
	}
	if counts[1] != counts[0]+1 {
		t.Errorf("hit counts %v, want the second one more than the first", counts)
	}
}

// TestRegistry pushes the webapp to a real registry (Debian's
// docker-registry), once with TLS from a CA of the test's and htpasswd
// auth, once plain HTTP behind a proxy that counts what is uploaded:
// the engine pulls and runs what was pushed, a one-line change uploads
// only the changed layers, a second repository mounts them, and wrong
// credentials, a stopped registry and an interrupted push leave the tag
// pulling the previous image.
func TestRegistry(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	testutil.NeedRegistry(t)
	app := copyWebapp(t)
	cache := t.TempDir()
	name := unique("nix-docker-e2e/push")
	local := name + ":loaded"
	removeImages(t, local)

	secure := startRegistry(t, true)
	goodCfg := authConfig(t, secure.addr, registryUser, registryPassword)
	tlsEnv := pushEnv{cache: cache, dockerConfig: goodCfg, caFile: secure.caFile}
	secureRef := secure.addr + "/" + name + ":live"
	removeImages(t, secureRef)

	// v1: built, loaded into the engine under -t and pushed, in one run.
	r := buildOK(t, tlsEnv.vars(), "-b", "-t", local, "--push", secureRef, app)
	v1 := parsePush(t, r.stderr)
	loaded := parseLoad(t, r.stderr)
	t.Logf("cold push over TLS with auth: %d layers uploaded, %d bytes", v1.sent, v1.bytes)
	if v1.sent == 0 || v1.skipped != 0 || v1.id != loaded.id {
		t.Errorf("first push %+v, load %+v: want every layer uploaded and the loaded image's ID", v1, loaded)
	}
	t.Run("pull and run", func(t *testing.T) {
		if got := pulledID(t, goodCfg, secureRef); got != v1.id {
			t.Errorf("the engine pulled %s as %s, want the pushed and loaded %s", secureRef, got, v1.id)
		}
		counterWorks(t, secureRef, "Hello from nix-docker!")
	})
	t.Run("credential helper", func(t *testing.T) {
		helpers := t.TempDir()
		script := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread host\nprintf '{\"ServerURL\":\"%%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}' \"$host\"\n", registryUser, registryPassword)
		if err := os.WriteFile(filepath.Join(helpers, "docker-credential-nixdockertest"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		env := pushEnv{cache: cache, dockerConfig: dockerConfig(t, fmt.Sprintf(`{"credHelpers":{%q:"nixdockertest"}}`, secure.addr)), caFile: secure.caFile}
		vars := append(env.vars(), "PATH="+helpers+":"+os.Getenv("PATH"))
		// With -o too: the archive holds the image pushed.
		archive := filepath.Join(t.TempDir(), "webapp.tar")
		p := parsePush(t, buildOK(t, vars, "-b", "--push", secure.addr+"/"+name+":helper", "-o", archive, app).stderr)
		// Without -t the config has no name label: another config, the
		// same layers.
		if p.sent != 0 || p.skipped != v1.sent {
			t.Errorf("push with a credential helper: %+v, want every layer already in the registry", p)
		}
		manifest := must(t, "tar", "-xOf", archive, "manifest.json")
		if want := strings.TrimPrefix(p.id, "sha256:") + ".json"; !strings.Contains(manifest, `"Config":"`+want+`"`) {
			t.Errorf("the archive written with the push has manifest %s, want config %s", manifest, want)
		}
	})

	plain := startRegistry(t, false)
	proxy := startProxy(t, plain.url())
	plainEnv := pushEnv{cache: cache, dockerConfig: dockerConfig(t, `{}`)}
	plainRef := proxy.addr + "/" + name + ":live"
	removeImages(t, plainRef)
	cold := proxy.since(counts{})
	p1 := parsePush(t, buildOK(t, plainEnv.vars(), "-b", "--push", plainRef, app).stderr)
	cold = proxy.since(cold)
	if p1.sent != v1.sent || p1.skipped != 0 || cold.uploads != p1.sent+1 {
		t.Errorf("cold push over plain HTTP: %+v, proxy saw %+v; want every layer and the config uploaded", p1, cold)
	}

	// v2: a one-line change to the Node app.
	editServer(t, app, "Hello again from nix-docker!")
	before := proxy.since(counts{})
	p2 := parsePush(t, buildOK(t, plainEnv.vars(), "-b", "--push", plainRef, app).stderr)
	incr := proxy.since(before)
	t.Logf("cold push: %d blobs, %d bytes uploaded; after a one-line change: %d blobs, %d bytes (%d layers already in the registry)",
		cold.uploads, cold.bytes, incr.uploads, incr.bytes, p2.skipped)
	if p2.id == v1.id || incr.uploads != p2.sent+1 || p2.skipped == 0 || incr.bytes <= 0 || cold.bytes <= 0 || incr.bytes*20 > cold.bytes {
		t.Errorf("push after a one-line change: %+v, proxy saw %+v; want the changed layers and the config only, under 5%% of the cold push's %d bytes", p2, incr, cold.bytes)
	}
	// nix-docker's report rounds to a tenth of a KiB or MiB.
	if float64(incr.bytes) < 0.99*float64(p2.bytes) {
		t.Errorf("the proxy saw %d bytes uploaded, nix-docker reports %d", incr.bytes, p2.bytes)
	}
	t.Run("second repository mounts", func(t *testing.T) {
		before := proxy.since(counts{})
		mirror := proxy.addr + "/" + name + "-mirror:live"
		removeImages(t, mirror)
		p := parsePush(t, buildOK(t, plainEnv.vars(), "-b", "--push", mirror, app).stderr)
		got := proxy.since(before)
		t.Logf("push to a second repository: %d layers mounted, %d blobs (%d bytes) uploaded", got.mounts, got.uploads, got.bytes)
		if p.id != p2.id || p.mounted != p2.sent+p2.skipped || got.mounts != p.mounted || got.uploads != 1 || p.sent != 0 {
			t.Errorf("push to a second repository: %+v, proxy saw %+v; want every layer mounted, only the config uploaded", p, got)
		}
		if id := pulledID(t, plainEnv.dockerConfig, mirror); id != p2.id {
			t.Errorf("pulled the mirror as %s, want %s", id, p2.id)
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		env := tlsEnv
		env.dockerConfig = authConfig(t, secure.addr, registryUser, "wrong")
		r := runEnv(t, env.vars(), nixDocker(t), "-I", nixpkgsArg(t), "-b", "--push", secureRef, app)
		last := lastLine(r.stderr)
		t.Logf("wrong password: exit %d: %s", r.code, last)
		if r.code == 0 || !strings.Contains(last, "refused the credentials") || !strings.Contains(last, "docker login") {
			t.Errorf("push with a wrong password: exit %d, last line %q", r.code, last)
		}
		if got := pulledID(t, goodCfg, secureRef); got != v1.id {
			t.Errorf("after a refused push %s pulls %s, want the previous %s", secureRef, got, v1.id)
		}
	})
	t.Run("stopped registry", func(t *testing.T) {
		secure.stop()
		r := runEnv(t, tlsEnv.vars(), nixDocker(t), "-I", nixpkgsArg(t), "-b", "--push", secureRef, app)
		secure.start()
		t.Logf("stopped registry: exit %d: %s", r.code, lastLine(r.stderr))
		if last := lastLine(r.stderr); r.code == 0 || !strings.Contains(last, "cannot reach the registry "+secure.addr) {
			t.Errorf("push to a stopped registry: exit %d, last line %q", r.code, last)
		}
		if got := pulledID(t, goodCfg, secureRef); got != v1.id {
			t.Errorf("after a push to the stopped registry %s pulls %s, want the previous %s", secureRef, got, v1.id)
		}
	})
	t.Run("interrupted push", func(t *testing.T) {
		editServer(t, app, "Hello a third time from nix-docker!")
		held, release := proxy.holdNext()
		defer release()
		cmd := exec.Command(nixDocker(t), "-I", nixpkgsArg(t), "-b", "--push", plainRef, app)
		cmd.Env = append(os.Environ(), plainEnv.vars()...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-held:
		case <-time.After(10 * time.Minute):
			cmd.Process.Kill()
			t.Fatalf("no upload reached the registry within 10 minutes:\n%s", stderr.String())
		}
		cmd.Process.Signal(syscall.SIGINT)
		err := cmd.Wait()
		release()
		t.Logf("interrupted: %v: %s", err, lastLine(stderr.String()))
		if err == nil || !strings.Contains(lastLine(stderr.String()), "interrupted") {
			t.Errorf("interrupted push: %v, last line %q", err, lastLine(stderr.String()))
		}
		if got := pulledID(t, plainEnv.dockerConfig, plainRef); got != p2.id {
			t.Errorf("after an interrupted push %s pulls %s, want the previous %s", plainRef, got, p2.id)
		}
		counterWorks(t, plainRef, "Hello again from nix-docker!")
	})

	t.Run("layer cache", func(t *testing.T) {
		var total int64
		var files int
		filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
			files++
			if strings.HasSuffix(p, ".tar") {
				t.Errorf("the layer cache holds a tar: %s", p)
			}
			return nil
		})
		t.Logf("layer cache after this test's builds of the webapp: %d files, %d bytes", files, total)
		if files == 0 || total <= 0 || total >= 1<<20 {
			t.Errorf("the layer cache %s holds %d files, %d bytes; want records, more than 0 and under 1 MiB", cache, files, total)
		}
	})
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
