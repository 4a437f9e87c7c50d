package output

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/testutil"
)

// engineClient connects to the engine at host ("" for the environment's)
// and describes it.
func engineClient(t *testing.T, host string) (*client.Client, docker.Engine) {
	t.Helper()
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	c, err := client.NewClientWithOpts(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e, err := docker.Describe(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return c, e
}

// TestLoopbackRegistryIntegration serves a random image of three layers
// to the real Docker engine and to Podman: each pulls it, fetching every
// layer the first time and none the second (another port, another
// temporary name), and a pull without the registry's credentials fails.
func TestLoopbackRegistryIntegration(t *testing.T) {
	testutil.NeedDocker(t)
	pm := testutil.StartPodman(t)
	for _, host := range []string{"", pm.Host} {
		c, e := engineClient(t, host)
		t.Run(e.Product, func(t *testing.T) {
			ctx := context.Background()
			img, err := random.Image(4096, 3)
			if err != nil {
				t.Fatal(err)
			}
			cfg, _ := img.ConfigName()
			keep := "nix-docker-test/loopback:" + cfg.Hex[:12]
			t.Cleanup(func() { c.ImageRemove(ctx, keep, image.RemoveOptions{Force: true}) })
			for i, wantFetched := range []int{3, 0} {
				reg, err := serveImage(img, docker.TempRepository, docker.TempTag(cfg.String()))
				if err != nil {
					t.Fatal(err)
				}
				if err := docker.Pull(ctx, c, e, reg.Ref(), reg.creds); err != nil {
					reg.Close()
					t.Fatalf("pull %d: %v", i, err)
				}
				reg.Close()
				got, err := c.ImageInspect(ctx, reg.Ref())
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(got.ID, cfg.Hex) {
					t.Errorf("pulled image ID %s, want the config digest %s", got.ID, cfg)
				}
				if n, bytes := reg.Fetched(); n != wantFetched {
					t.Errorf("pull %d fetched %d layers (%d bytes), want %d", i, n, bytes, wantFetched)
				} else {
					t.Logf("pull %d: %d layers fetched, %d bytes sent", i, n, bytes)
				}
				// As a load does: the tag first, then the temporary name off.
				if err := c.ImageTag(ctx, reg.Ref(), keep); err != nil {
					t.Fatal(err)
				}
				if err := docker.RemoveRef(ctx, c, reg.Ref()); err != nil {
					t.Fatal(err)
				}
				kept, err := c.ImageInspect(ctx, keep)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range append(kept.RepoTags, kept.RepoDigests...) {
					if docker.IsTemporary(n) {
						t.Errorf("after removing %s the image is still named %s", reg.Ref(), n)
					}
				}
			}
			reg, err := serveImage(img, docker.TempRepository, "nocreds")
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			wrong := reg.creds
			wrong.Password = "wrong"
			if err := docker.Pull(ctx, c, e, reg.Ref(), wrong); err == nil {
				t.Errorf("a pull with a wrong password succeeded")
			} else if n, bytes := reg.Fetched(); n != 0 || bytes != 0 {
				t.Errorf("a pull with a wrong password fetched %d layers, %d bytes", n, bytes)
			}
		})
	}
}
