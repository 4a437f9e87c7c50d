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

// engineLine is what nix-docker -b says about the engine before it
// builds; viaLine is how the load report names the way it loaded.
var (
	engineLine = regexp.MustCompile(`engine: (Docker|Podman) \S+ \(([^)]*)\) at (\S+?)(, remote)?; loading via (the [a-z -]+)`)
	viaLine    = regexp.MustCompile(`already in the engine; via (the [a-z -]+?) in [0-9.]+s`)
)

// engineLoad is one build loaded into an engine, as nix-docker reported it.
type engineLoad struct {
	loadStats
	chosen   string // the way nix-docker chose before building
	via      string // the way the image went
	fallback bool   // the first way failed and the full archive was sent
	took     time.Duration
	stderr   string
}

// buildInto builds app into the engine env points at and parses what
// nix-docker said.
func buildInto(t *testing.T, env []string, tag, app string, extra ...string) engineLoad {
	t.Helper()
	start := time.Now()
	r := buildOK(t, env, append(append([]string{"-b", "-t", tag}, extra...), app)...)
	l := engineLoad{loadStats: parseLoad(t, r.stderr), took: time.Since(start), stderr: r.stderr}
	m := engineLine.FindStringSubmatch(r.stderr)
	v := viaLine.FindStringSubmatch(r.stderr)
	if m == nil || v == nil {
		t.Fatalf("nix-docker did not say which engine and way:\n%s", r.stderr)
	}
	l.chosen, l.via = m[5], v[1]
	l.fallback = strings.Contains(r.stderr, "failed (") && strings.Contains(r.stderr, "sent the full")
	if got := strings.TrimSpace(r.stdout); got != l.id {
		t.Errorf("nix-docker printed %q, want the loaded image ID %s", got, l.id)
	}
	return l
}

func (l engineLoad) String() string {
	s := l.via
	if l.fallback {
		s += " (after a fallback)"
	}
	return s + ": " + strconv.Itoa(l.sent) + " layers, " + strconv.FormatInt(l.bytes, 10) + " bytes sent, " + strconv.Itoa(l.skipped) + " already there, " + l.took.Round(100*time.Millisecond).String() + " in all"
}

// editApp makes the one-line change to the Node app: its greeting.
func editApp(t *testing.T, app, greeting string) {
	t.Helper()
	server := filepath.Join(filepath.Dir(app), "app", "server.js")
	js, err := os.ReadFile(server)
	if err != nil {
		t.Fatal(err)
	}
	changed := regexp.MustCompile(`Hello[a-z ]* from nix-docker!`).ReplaceAllString(string(js), greeting)
	if changed == string(js) {
		t.Fatalf("server.js has no greeting to change to %q", greeting)
	}
	if err := os.WriteFile(server, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
}

// uniqueApp copies the webapp with a comment line of its own in the Node
// app, so that its app layer is one no engine here has seen: what a load
// sends then does not depend on what earlier runs left.
func uniqueApp(t *testing.T) string {
	t.Helper()
	app := copyWebapp(t)
	server := filepath.Join(filepath.Dir(app), "app", "server.js")
	f, err := os.OpenFile(server, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("// " + unique(t.Name()) + "\n"); err != nil {
		t.Fatal(err)
	}
	return app
}

// podmanImage is what `podman image inspect` says of an image.
type podmanImage struct {
	ID          string `json:"Id"`
	RepoTags    []string
	RepoDigests []string
	RootFS      struct{ Layers []string }
	Config      struct{ Labels map[string]string }
}

func inspectPodman(t *testing.T, pm *testutil.Podman, ref string) podmanImage {
	t.Helper()
	var info []podmanImage
	if err := json.Unmarshal([]byte(pm.Must(t, "image", "inspect", ref)), &info); err != nil || len(info) != 1 {
		t.Fatalf("podman image inspect %s: %v", ref, err)
	}
	return info[0]
}

// onlyTag checks that the image is named tag and nothing else: no
// temporary name of the load (nix-docker-load), tag or digest, is left.
func onlyTag(t *testing.T, tags, digests []string, tag string) {
	t.Helper()
	if len(tags) != 1 || !strings.HasSuffix(tags[0], tag) {
		t.Errorf("image names %v, want %s only", tags, tag)
	}
	for _, d := range digests {
		if strings.Contains(d, "nix-docker-load") {
			t.Errorf("image still has the temporary name %s", d)
		}
	}
}

// checkCounter GETs the webapp three times and checks its Redis-kept counter
// goes up by one each time; it returns the last page.
func checkCounter(t *testing.T, url string) string {
	t.Helper()
	var last []int
	var body string
	for i := 0; i < 3; i++ {
		code, b := httpGet(t, url, 90*time.Second)
		m := hits.FindStringSubmatch(b)
		if code != 200 || m == nil {
			t.Fatalf("GET %s = %d %q, want 200 and a hit count", url, code, b)
		}
		n, _ := strconv.Atoi(m[1])
		last, body = append(last, n), b
	}
	if last[1] != last[0]+1 || last[2] != last[1]+1 {
		t.Errorf("hit counts %v, want each one more than the last (kept in Redis)", last)
	}
	return body
}

// runPodman runs tag with Podman, the app's port on 127.0.0.1, checks
// its counter with checkCounter, removes the container and returns the page.
func runPodman(t *testing.T, pm *testutil.Podman, tag string) string {
	t.Helper()
	ctr := unique("nix-docker-e2e-podman")
	pm.Must(t, "run", "-d", "--name", ctr, "-p", "127.0.0.1::8080", tag)
	defer pm.Command("rm", "-f", "-t", "0", ctr).Run()
	addr := pm.Must(t, "port", ctr, "8080/tcp")
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("podman port = %q, want 127.0.0.1:PORT", addr)
	}
	return checkCounter(t, "http://"+addr+"/")
}

// TestPodman builds the webapp into Podman (through its Docker-compatible
// socket, DOCKER_HOST), runs it with Podman and uses its counter; after a
// one-line change to the Node app only the changed layers cross; it
// builds on a Podman-held base with --from; prunes; and loads the two
// other ways (full archive; partial archive, which Podman refuses).
func TestPodman(t *testing.T) {
	testutil.NeedNix(t)
	pm := testutil.StartPodman(t)
	env := []string{"DOCKER_HOST=" + pm.Host}
	name := unique("nix-docker-e2e/podman")
	tag := name + ":test"
	app := copyWebapp(t)

	first := buildInto(t, env, tag, app)
	t.Logf("Podman, first load: %s", first)
	if first.chosen != "the loopback registry" || first.via != "the loopback registry" || first.fallback {
		t.Errorf("first load chose %q and went via %q (fallback %v), want the loopback registry", first.chosen, first.via, first.fallback)
	}
	if !strings.Contains(first.stderr, "engine: Podman 4.") {
		t.Errorf("nix-docker did not name Podman:\n%s", first.stderr)
	}
	img := inspectPodman(t, pm, tag)
	if "sha256:"+strings.TrimPrefix(img.ID, "sha256:") != first.id {
		t.Errorf("Podman's image %s is %s, want %s", tag, img.ID, first.id)
	}
	onlyTag(t, img.RepoTags, img.RepoDigests, tag)
	if body := runPodman(t, pm, tag); !strings.Contains(body, "Hello from nix-docker!") {
		t.Errorf("the app says %q", body)
	}

	editApp(t, app, "Hello again from nix-docker!")
	second := buildInto(t, env, tag, app)
	t.Logf("Podman, after a one-line change: %s", second)
	if second.via != "the loopback registry" || second.skipped == 0 || second.sent == 0 || second.bytes <= 0 || first.bytes <= 0 || second.bytes*20 > first.bytes {
		t.Errorf("rebuild: %s; want the loopback registry, most layers already there, under 5%% of the first load's %d bytes", second, first.bytes)
	}
	if body := runPodman(t, pm, tag); !strings.Contains(body, "Hello again from nix-docker!") {
		t.Errorf("after the rebuild the app says %q", body)
	}
	onlyTag(t, inspectPodman(t, pm, tag).RepoTags, inspectPodman(t, pm, tag).RepoDigests, tag)

	t.Run("from", func(t *testing.T) { podmanFrom(t, pm, env) })
	t.Run("prune", func(t *testing.T) {
		r := runEnv(t, env, nixDocker(t), "prune", name)
		if r.code != 0 {
			t.Fatalf("nix-docker prune %s: exit %d\n%s", name, r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, first.id) {
			t.Errorf("prune output %q (%s) does not list the old image %s", r.stdout, r.stderr, first.id)
		}
		if err := pm.Command("image", "exists", first.id).Run(); err == nil {
			t.Errorf("the old image %s is still in Podman after prune", first.id)
		}
		if err := pm.Command("image", "exists", tag).Run(); err != nil {
			t.Errorf("prune removed the tagged image %s", tag)
		}
	})
	t.Run("other ways", func(t *testing.T) {
		editApp(t, app, "Hello partially from nix-docker!")
		partial := buildInto(t, env, tag, app, "--load-via", "partial")
		t.Logf("Podman, a one-line change, --load-via partial: %s", partial)
		if !partial.fallback || !strings.Contains(partial.stderr, "Some layer tarfiles are missing") || partial.skipped != 0 {
			t.Errorf("--load-via partial: %s\n%s\nwant Podman's refusal and the full archive", partial, partial.stderr)
		}
		editApp(t, app, "Hello wholly from nix-docker!")
		full := buildInto(t, env, tag, app, "--load-via", "archive")
		t.Logf("Podman, a one-line change, --load-via archive: %s", full)
		if full.via != "the full docker-archive" || full.fallback || full.skipped != 0 {
			t.Errorf("--load-via archive: %s", full)
		}
		if body := runPodman(t, pm, tag); !strings.Contains(body, "Hello wholly from nix-docker!") {
			t.Errorf("after the full archive the app says %q", body)
		}
		onlyTag(t, inspectPodman(t, pm, tag).RepoTags, inspectPodman(t, pm, tag).RepoDigests, tag)
	})
}

// podmanFrom builds a Redis image into Podman, then the webapp on it
// with --from: the base's layers are not fetched again, and both Redis
// and the app run.
func podmanFrom(t *testing.T, pm *testutil.Podman, env []string) {
	dir := t.TempDir()
	baseFile := filepath.Join(dir, "base.hcl")
	if err := os.WriteFile(baseFile, []byte("module \"redis\" {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := unique("nix-docker-e2e/podman-base") + ":test"
	buildInto(t, env, base, baseFile)
	baseLayers := inspectPodman(t, pm, base).RootFS.Layers
	tag := unique("nix-docker-e2e/podman-onbase") + ":test"
	st := buildInto(t, env, tag, repo(t, "examples", "webapp", "app.hcl"), "--from", base)
	t.Logf("Podman, --from %s (%d layers): %s", base, len(baseLayers), st)
	if st.skipped < len(baseLayers) || st.via != "the loopback registry" {
		t.Errorf("--from a Podman-held base: %s; want at least its %d layers already there", st, len(baseLayers))
	}
	layers := inspectPodman(t, pm, tag).RootFS.Layers
	if len(layers) < len(baseLayers) || strings.Join(layers[:len(baseLayers)], " ") != strings.Join(baseLayers, " ") {
		t.Errorf("layers %v do not start with the base's %v", layers, baseLayers)
	}
	runPodman(t, pm, tag)
}

// dockerNames are the tags and digests the Docker engine names ref by.
func dockerNames(t *testing.T, ref string) (tags, digests []string) {
	t.Helper()
	var info []struct{ RepoTags, RepoDigests []string }
	if err := json.Unmarshal([]byte(must(t, "docker", "image", "inspect", ref)), &info); err != nil || len(info) != 1 {
		t.Fatalf("docker image inspect %s: %v", ref, err)
	}
	return info[0].RepoTags, info[0].RepoDigests
}

// runDocker runs tag with Docker, the app's port on 127.0.0.1, and
// returns the app's URL.
func runDocker(t *testing.T, tag string) string {
	t.Helper()
	ctr := unique("nix-docker-e2e-engines")
	must(t, "docker", "run", "-d", "--name", ctr, "-p", "127.0.0.1::8080", tag)
	t.Cleanup(func() { run(t, "docker", "rm", "-f", ctr) })
	return "http://127.0.0.1:" + hostPort(t, ctr, "8080/tcp") + "/"
}

// TestRegistryLoadDocker drives the classic Docker engine through the
// loopback registry (--load-via registry), the way the containerd store
// and Podman load: the webapp runs, and after a one-line change only the
// changed layers are fetched; only the requested tag names the image.
func TestRegistryLoadDocker(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	tag := unique("nix-docker-e2e/viareg") + ":test"
	app := uniqueApp(t)
	first := buildInto(t, nil, tag, app, "--load-via", "registry")
	removeImages(t, tag, first.id)
	t.Logf("Docker, --load-via registry, first load: %s", first)
	if first.via != "the loopback registry" || first.fallback {
		t.Fatalf("first load: %s\n%s", first, first.stderr)
	}
	if id := inspectImage(t, tag).ID; id != first.id {
		t.Errorf("%s is %s, want %s", tag, id, first.id)
	}
	tags, digests := dockerNames(t, tag)
	onlyTag(t, tags, digests, tag)
	checkCounter(t, runDocker(t, tag))

	editApp(t, app, "Hello again from nix-docker!")
	second := buildInto(t, nil, tag, app, "--load-via", "registry")
	removeImages(t, second.id)
	t.Logf("Docker, --load-via registry, after a one-line change: %s", second)
	// The first load fetched at least the app's new layer; the Docker
	// engine may hold the others from earlier loads of the same paths.
	if first.sent == 0 {
		t.Errorf("first load fetched nothing, though its app layer is new")
	}
	if second.via != "the loopback registry" || second.fallback || second.sent == 0 || second.skipped < second.sent || second.bytes <= 0 || second.bytes > 1<<20 {
		t.Errorf("rebuild: %s; want the changed layers fetched (under 1 MiB), most already there", second)
	}
	tags, digests = dockerNames(t, tag)
	onlyTag(t, tags, digests, tag)
	if body := checkCounter(t, runDocker(t, tag)); !strings.Contains(body, "Hello again from nix-docker!") {
		t.Errorf("after the rebuild the app says %q", body)
	}
}

// TestRemoteEngine loads through engines nix-docker must treat as remote:
// the Docker engine through a TCP forward of its socket (the classic
// store takes a partial archive from anywhere), and Podman in a network
// namespace of its own, whose 127.0.0.1 is not ours: through a TCP
// forward nix-docker sends the full archive at once; through its socket
// (which looks local) the pull from the loopback registry fails and the
// full archive follows.
func TestRemoteEngine(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	app := uniqueApp(t)

	t.Run("Docker over TCP", func(t *testing.T) {
		env := []string{"DOCKER_HOST=" + testutil.Forward(t, "/var/run/docker.sock")}
		tag := unique("nix-docker-e2e/remote") + ":test"
		first := buildInto(t, env, tag, app)
		removeImages(t, tag, first.id)
		if !strings.Contains(first.stderr, ", remote; loading via the partial docker-archive") {
			t.Errorf("over TCP nix-docker said:\n%s\nwant a remote engine and the partial archive", first.stderr)
		}
		editApp(t, app, "Hello remotely from nix-docker!")
		second := buildInto(t, env, tag, app)
		removeImages(t, second.id)
		t.Logf("Docker over TCP, after a one-line change: %s", second)
		if second.via != "the partial docker-archive" || second.skipped == 0 || second.fallback {
			t.Errorf("rebuild over TCP: %s", second)
		}
		if body := checkCounter(t, runDocker(t, tag)); !strings.Contains(body, "Hello remotely from nix-docker!") {
			t.Errorf("after the rebuild the app says %q", body)
		}
	})

	t.Run("Podman elsewhere", func(t *testing.T) {
		pm := testutil.StartPodmanIsolated(t)
		tcp := []string{"DOCKER_HOST=" + testutil.Forward(t, pm.Socket)}
		tag := unique("nix-docker-e2e/elsewhere") + ":test"
		overTCP := buildInto(t, tcp, tag, app)
		t.Logf("Podman over TCP: %s", overTCP)
		if overTCP.chosen != "the full docker-archive" || overTCP.via != "the full docker-archive" || overTCP.fallback {
			t.Errorf("Podman over TCP: chose %q, %s; want the full archive at once", overTCP.chosen, overTCP)
		}
		img := inspectPodman(t, pm, tag)
		onlyTag(t, img.RepoTags, img.RepoDigests, tag)

		editApp(t, app, "Hello from afar from nix-docker!")
		socket := buildInto(t, []string{"DOCKER_HOST=" + pm.Host}, tag, app)
		t.Logf("Podman on its socket, in its own network namespace: %s", socket)
		if socket.chosen != "the loopback registry" || !socket.fallback || socket.via != "the full docker-archive" {
			t.Errorf("Podman in its own network namespace: chose %q, %s; want the loopback registry, failing, then the full archive", socket.chosen, socket)
		}
		img = inspectPodman(t, pm, tag)
		if "sha256:"+strings.TrimPrefix(img.ID, "sha256:") != socket.id {
			t.Errorf("Podman's %s is %s, want %s", tag, img.ID, socket.id)
		}
		onlyTag(t, img.RepoTags, img.RepoDigests, tag)
		// No network in that namespace: have the image's Node read the
		// app it holds, rather than serve it.
		var node, appDir string
		for _, p := range strings.Fields(img.Config.Labels["org.nix-docker.store-paths"]) {
			switch {
			case strings.Contains(p, "-nodejs-"):
				node = p + "/bin/node"
			default:
				// The app's own files: the node module names their
				// path after package.json, so find it by its server.js
				// (the store paths are the host's too).
				if _, err := os.Stat(p + "/server.js"); err == nil {
					appDir = p
				}
			}
		}
		if node == "" || appDir == "" {
			t.Fatalf("no nodejs or app among the image's store paths %q", img.Config.Labels["org.nix-docker.store-paths"])
		}
		js := "process.stdout.write(require('fs').readFileSync('" + appDir + "/server.js', 'utf8'))"
		out := pm.Must(t, "run", "--rm", "--network", "none", "--entrypoint", node, tag, "-e", js)
		if !strings.Contains(out, "Hello from afar from nix-docker!") {
			t.Errorf("the image loaded over the fallback holds a server.js without the change: %.200q", out)
		}
	})
}
