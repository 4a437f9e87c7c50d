package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
)

var _ docker.Archive = (*nixdockerimage.Image)(nil)

// needDocker returns a client for the engine, or skips the test when none
// answers; with NIX_DOCKER_REQUIRE_INTEGRATION=1 (as in CI) it fails
// instead.
func needDocker(t *testing.T) *client.Client {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("NIX_DOCKER_REQUIRE_INTEGRATION") == "1" {
		skip = t.Fatalf
	}
	c, err := docker.New()
	if err != nil {
		skip("no Docker engine: %v", err)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx); err != nil {
		c.Close()
		skip("no Docker engine answers: %v", err)
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
	skip := t.Skipf
	if os.Getenv("NIX_DOCKER_REQUIRE_INTEGRATION") == "1" {
		skip = t.Fatalf
	}
	bb, err := os.ReadFile("/usr/bin/busybox")
	if err != nil {
		skip("needs a static busybox at /usr/bin/busybox (Debian: busybox-static): %v", err)
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
	put(appV1+"/msg", 0o444, []byte("hello from app 1\n"))
	put(appV2+"/msg", 0o444, []byte("hello from app 2\n"))
	put(appV3+"/msg", 0o444, []byte("hello from app 3\n"))
	return root
}

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
	r1, err := docker.Load(ctx, c, v1, tag, nil)
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
	if out := run(t, tag); out != "hello from app 1\n" {
		t.Errorf("docker run v1 = %q", out)
	}

	// Same input, fresh cache: same ID, and nothing to send.
	again := build(t, spec(root, appV1), t.TempDir())
	if again.ID() != v1.ID() {
		t.Errorf("Build twice: IDs %s and %s", again.ID(), v1.ID())
	}
	r, err := docker.Load(ctx, c, again, tag, nil)
	if err != nil {
		t.Fatalf("Load(v1 again): %v", err)
	}
	if !r.AlreadyLoaded || r.BytesSent != 0 {
		t.Errorf("Load(v1 again) = %+v, want already loaded, 0 bytes sent", r)
	}

	// One path changed: the busybox layer below it is not sent again.
	v2 := build(t, spec(root, appV2), cache)
	ids = append(ids, v2.ID())
	r2, err := docker.Load(ctx, c, v2, tag, nil)
	if err != nil {
		t.Fatalf("Load(v2): %v", err)
	}
	t.Logf("v2: %+v", r2)
	if r2.LayersSkipped != 1 || r2.LayersSent != 2 || r2.FullFallback {
		t.Errorf("Load(v2) = %+v, want the busybox layer skipped", r2)
	}
	if r2.BytesSent*10 > r1.BytesSent {
		t.Errorf("Load(v2) sent %d bytes, want under a tenth of the full %d", r2.BytesSent, r1.BytesSent)
	}
	if out := run(t, tag); out != "hello from app 2\n" {
		t.Errorf("docker run v2 = %q", out)
	}

	// A load the engine refuses leaves the tag where it was.
	v3 := build(t, spec(root, appV3), cache)
	if _, err := docker.Load(ctx, c, brokenArchive{v3}, tag, nil); err == nil {
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
	if out := run(t, tag); out != "hello from app 2\n" {
		t.Errorf("docker run after failed load = %q", out)
	}
}
