package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/nix-docker/nix-docker/internal/docker"
	nixdockerimage "github.com/nix-docker/nix-docker/internal/image"
	"github.com/nix-docker/nix-docker/internal/testutil"
)

var _ docker.Archive = (*nixdockerimage.Image)(nil)

// needDocker returns a client for the engine, or skips the test when none
// answers; with NIX_DOCKER_REQUIRE_INTEGRATION=1 (as in CI) it fails
// instead.
func needDocker(t *testing.T) *client.Client {
	t.Helper()
	c, err := docker.New()
	if err != nil {
		testutil.Missing(t, "no Docker engine: "+err.Error())
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx); err != nil {
		c.Close()
		testutil.Missing(t, "no Docker engine answers: "+err.Error())
		return nil
	}
	t.Cleanup(func() { c.Close() })
	return c
}

const (
	busyboxPath = "/nix/store/2a3pbdxw9v5hxhklr2m6pcsaqw8xq0c1-busybox-1.35.0"
	appV1       = "/nix/store/3b4qcfyx0w6iyiml3n7qdfsbrx9yr1d2-app-1"
	appV2       = "/nix/store/4c5rdgzy1x7jzjmn4p8rfgscsy0zs2f3-app-2"
	appV3       = "/nix/store/5d6sfhz02y8kzkpp5q9sghdfz01z3g4-app-3"
)

// storeTree makes a fake store under a temp dir: a static busybox and one
// app path per version, each holding a message file.
func storeTree(t *testing.T) string {
	t.Helper()
	testutil.NeedFile(t, "/usr/bin/busybox", "Debian: busybox-static")
	bb, err := os.ReadFile("/usr/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	put := func(p string, mode fs.FileMode, data []byte) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, mode); err != nil {
			t.Fatal(err)
		}
	}
	put(busyboxPath+"/bin/busybox", 0o555, bb)
	put(appV1+"/msg", 0o444, []byte(msg(1)))
	put(appV2+"/msg", 0o444, []byte(msg(2)))
	put(appV3+"/msg", 0o444, []byte(msg(3)))
	return root
}

// runNonce makes this run's app images its own: image IDs are digests of
// content, and a concurrent run on the same engine (another checkout's
// tests) removing the same IDs in its cleanup would untag ours.
var runNonce = func() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}()

// msg is what app version v prints.
func msg(v int) string { return fmt.Sprintf("hello from app %d (run %s)\n", v, runNonce) }

func spec(root, app string) nixdockerimage.Spec {
	return nixdockerimage.Spec{
		Layers:   [][]string{{busyboxPath}, {app}},
		Platform: nixdockerimage.Platform{Architecture: "amd64", OS: "linux"},
		Extra: []nixdockerimage.Entry{
			{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
			{Path: "/bin/sh", Mode: fs.ModeSymlink | 0o777, Target: busyboxPath + "/bin/busybox"},
		},
		Entrypoint: []string{busyboxPath + "/bin/busybox"},
		Cmd:        []string{"cat", app + "/msg"},
		Root:       root,
	}
}

func build(t *testing.T, s nixdockerimage.Spec, cache string) *nixdockerimage.Image {
	t.Helper()
	img, err := nixdockerimage.Build(s, cache)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return img
}

func inspectID(t *testing.T, c *client.Client, ref string) string {
	t.Helper()
	got, err := c.ImageInspect(context.Background(), ref)
	if err != nil {
		t.Fatalf("ImageInspect(%s): %v", ref, err)
	}
	return got.ID
}

func run(t *testing.T, tag string) string {
	t.Helper()
	out, err := exec.Command("docker", "run", "--rm", tag).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run %s: %v\n%s", tag, err, out)
	}
	return string(out)
}

// brokenArchive claims to be an image but leaves out every layer tar, as
// if the engine held them: the engine must refuse it.
type brokenArchive struct{ *nixdockerimage.Image }

func (b brokenArchive) WriteArchive(w io.Writer, tags []string, _ func(string) bool) (int64, error) {
	return b.Image.WriteArchive(w, tags, func(string) bool { return true })
}

// load loads img as the engine output does: through docker.Load, then the
// tag from the temporary name, which is removed.
func load(t *testing.T, c *client.Client, img docker.Archive, tag string) (docker.Result, error) {
	t.Helper()
	ctx := context.Background()
	e, err := docker.Describe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := docker.Load(ctx, c, img, docker.LoadOptions{Holders: []string{tag}, Expect: docker.Expect{AnyID: !e.IDIsConfigDigest()}})
	if err != nil {
		return res, err
	}
	src := res.Ref
	if src == "" {
		src = res.ImageID
	}
	if err := c.ImageTag(ctx, src, tag); err != nil {
		t.Fatal(err)
	}
	if res.Ref != "" {
		if err := docker.RemoveRef(ctx, c, res.Ref); err != nil {
			t.Fatal(err)
		}
	}
	return res, nil
}

// temporaryNames lists the engine's names under docker.TempRepository.
func temporaryNames(t *testing.T, c *client.Client) []string {
	t.Helper()
	list, err := c.ImageList(context.Background(), image.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, img := range list {
		for _, n := range append(img.RepoTags, img.RepoDigests...) {
			if docker.IsTemporary(n) {
				out = append(out, n)
			}
		}
	}
	return out
}

func TestLoadIntegration(t *testing.T) {
	c := needDocker(t)
	root := storeTree(t)
	cache := t.TempDir()
	ctx := context.Background()

	suffix := make([]byte, 6)
	rand.Read(suffix)
	tag := "nix-docker-test/load-" + hex.EncodeToString(suffix) + ":latest"
	var ids []string
	t.Cleanup(func() {
		c.ImageRemove(ctx, tag, image.RemoveOptions{Force: true})
		for _, id := range ids {
			c.ImageRemove(ctx, id, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	})

	// First load: the engine holds nothing of it.
	v1 := build(t, spec(root, appV1), cache)
	ids = append(ids, v1.ID())
	r1, err := load(t, c, v1, tag)
	if err != nil {
		t.Fatalf("Load(v1): %v", err)
	}
	t.Logf("v1: %+v", r1)
	if r1.ImageID != v1.ID() || r1.LayersSent != 3 || r1.LayersSkipped != 0 || r1.FullFallback {
		t.Errorf("Load(v1) = %+v, want ID %s, 3 layers sent", r1, v1.ID())
	}
	if got := inspectID(t, c, tag); got != v1.ID() {
		t.Errorf("after Load(v1) %s is %s, want %s", tag, got, v1.ID())
	}
	if out := run(t, tag); out != msg(1) {
		t.Errorf("docker run v1 = %q", out)
	}

	// Same input, fresh cache: same ID, and nothing to send.
	again := build(t, spec(root, appV1), t.TempDir())
	if again.ID() != v1.ID() {
		t.Errorf("Build twice: IDs %s and %s", again.ID(), v1.ID())
	}
	r, err := load(t, c, again, tag)
	if err != nil {
		t.Fatalf("Load(v1 again): %v", err)
	}
	if !r.AlreadyLoaded || r.BytesSent != 0 {
		t.Errorf("Load(v1 again) = %+v, want already loaded, 0 bytes sent", r)
	}

	// One path changed: the busybox layer below it is not sent again.
	v2 := build(t, spec(root, appV2), cache)
	ids = append(ids, v2.ID())
	r2, err := load(t, c, v2, tag)
	if err != nil {
		t.Fatalf("Load(v2): %v", err)
	}
	t.Logf("v2: %+v", r2)
	if r2.LayersSkipped != 1 || r2.LayersSent != 2 || r2.FullFallback {
		t.Errorf("Load(v2) = %+v, want the busybox layer skipped", r2)
	}
	if r1.BytesSent <= 0 || r2.BytesSent <= 0 || r2.BytesSent*10 > r1.BytesSent {
		t.Errorf("Load(v2) sent %d bytes, want under a tenth of the full %d", r2.BytesSent, r1.BytesSent)
	}
	if out := run(t, tag); out != msg(2) {
		t.Errorf("docker run v2 = %q", out)
	}

	// A load the engine refuses leaves the tag where it was.
	v3 := build(t, spec(root, appV3), cache)
	if _, err := load(t, c, brokenArchive{v3}, tag); err == nil {
		t.Fatalf("Load(broken archive) succeeded")
	} else {
		t.Logf("Load(broken archive): %v", err)
		if !strings.Contains(err.Error(), "no such file") {
			t.Errorf("Load(broken archive) = %v, want the engine's reason", err)
		}
	}
	if got := inspectID(t, c, tag); got != v2.ID() {
		t.Errorf("after a failed load %s is %s, want still %s", tag, got, v2.ID())
	}
	if out := run(t, tag); out != msg(2) {
		t.Errorf("docker run after failed load = %q", out)
	}
	if left := temporaryNames(t, c); len(left) != 0 {
		t.Errorf("temporary names left in the engine: %v", left)
	}
}

// wrongArchive claims to be one image and sends another: the engine
// loads it without complaint, and only the verification can tell.
type wrongArchive struct {
	*nixdockerimage.Image
	sent *nixdockerimage.Image
}

func (w wrongArchive) WriteArchive(out io.Writer, tags []string, omit func(string) bool) (int64, error) {
	return w.sent.WriteArchive(out, tags, omit)
}

// TestVerifyRefusesIntegration loads into the real engine an archive that
// is not the planned image: the engine accepts it, the verification
// refuses it, the full archive (the same wrong image) is refused too, and
// the tag stays where it was with no temporary name left behind.
func TestVerifyRefusesIntegration(t *testing.T) {
	c := needDocker(t)
	root := storeTree(t)
	cache := t.TempDir()
	ctx := context.Background()
	suffix := make([]byte, 6)
	rand.Read(suffix)
	tag := "nix-docker-test/verify-" + hex.EncodeToString(suffix) + ":latest"
	v1, v2 := build(t, spec(root, appV1), cache), build(t, spec(root, appV2), cache)
	t.Cleanup(func() {
		c.ImageRemove(ctx, tag, image.RemoveOptions{Force: true})
		for _, id := range []string{v1.ID(), v2.ID()} {
			c.ImageRemove(ctx, id, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	})
	if _, err := load(t, c, v1, tag); err != nil {
		t.Fatal(err)
	}
	// The plan is v2 (its ID, its layers); the archive is v1's but for
	// the busybox layer, which the engine holds and the partial archive
	// leaves out.
	_, err := load(t, c, wrongArchive{Image: v2, sent: v1}, tag)
	if err == nil {
		t.Fatal("loading the wrong image succeeded")
	}
	t.Logf("Load(wrong image): %v", err)
	for _, want := range []string{"incomplete or not ours", "the partial archive failed before"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Load(wrong image) = %v, want it to say %q", err, want)
		}
	}
	if got := inspectID(t, c, tag); got != v1.ID() {
		t.Errorf("after a refused load %s is %s, want still %s", tag, got, v1.ID())
	}
	if left := temporaryNames(t, c); len(left) != 0 {
		t.Errorf("temporary names left in the engine: %v", left)
	}
}
