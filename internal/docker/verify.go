package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/image"
)

// Expect is what the engine must hold once a load is done: the plan's
// layers and the image's identity.
type Expect struct {
	// ConfigDigest is the image ID nix-docker computed: the config's
	// digest. The classic store and Podman name the image by it.
	ConfigDigest string
	// ManifestDigest is the digest of the manifest the engine pulled, when
	// it pulled one nix-docker served; the containerd store names a
	// pulled image by it. "" otherwise.
	ManifestDigest string
	// DiffIDs are the layers' digests, bottom to top.
	DiffIDs []string
	// Config is the image's config JSON. When AnyID is set and the
	// engine's ID is neither digest above, the config the engine shows
	// must equal it field by field.
	Config []byte
	// AnyID tells that the engine may name the image by a digest
	// nix-docker cannot know (the containerd store names a loaded archive
	// by the manifest it wrote itself).
	AnyID bool
}

// Verify looks ref (a name or an ID) up in the engine and checks that it
// is the image want describes: the same layers in the same order, and the
// same identity. It returns the engine's ID for the image.
func Verify(ctx context.Context, c Inspector, ref string, want Expect) (string, error) {
	got, err := c.ImageInspect(ctx, ref)
	if err != nil {
		if isNotFound(err) {
			return "", fmt.Errorf("the engine has no image %s after loading it", ref)
		}
		return "", fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	return verifyImage(got, ref, want)
}

// verifyImage checks that got, the engine's answer for ref, is the image
// want describes, and returns the engine's ID for it.
func verifyImage(got image.InspectResponse, ref string, want Expect) (string, error) {
	if err := sameDiffIDs(got.RootFS.Layers, want.DiffIDs); err != nil {
		return "", fmt.Errorf("the engine's image %s is incomplete or not ours: %w", ref, err)
	}
	id := normalID(got.ID)
	switch {
	case id == want.ConfigDigest, want.ManifestDigest != "" && id == want.ManifestDigest:
		return id, nil
	case want.AnyID:
		if err := sameConfig(got, want.Config); err != nil {
			return "", fmt.Errorf("the engine's image %s (ID %s) is not ours: %w", ref, id, err)
		}
		return id, nil
	}
	return "", fmt.Errorf("the engine's image %s has the ID %s, want %s", ref, id, want.ConfigDigest)
}

// normalID adds the "sha256:" an engine may leave out of an image ID.
func normalID(id string) string {
	if len(id) == 64 && !strings.Contains(id, ":") {
		return "sha256:" + id
	}
	return id
}

// sameDiffIDs says how got differs from want, or returns nil.
func sameDiffIDs(got, want []string) error {
	n := commonPrefix(got, want)
	switch {
	case n == len(got) && n == len(want):
		return nil
	case n < len(got) && n < len(want):
		return fmt.Errorf("layer %d of %d is %s in the engine, %s in the plan", n+1, len(want), got[n], want[n])
	}
	return fmt.Errorf("the engine holds %d layers, the plan has %d (the first %d agree)", len(got), len(want), n)
}

// sameConfig compares the config the engine shows with the image's own,
// field by field: what an inspect returns is the config decoded and
// encoded again, never its bytes.
func sameConfig(got image.InspectResponse, config []byte) error {
	var want struct {
		Architecture string    `json:"architecture"`
		OS           string    `json:"os"`
		Created      time.Time `json:"created"`
		Config       struct {
			Cmd, Entrypoint, Env []string
			Labels               map[string]string
			WorkingDir           string
			ExposedPorts         map[string]struct{}
			Volumes              map[string]struct{}
		} `json:"config"`
	}
	if err := json.Unmarshal(config, &want); err != nil {
		return fmt.Errorf("reading the image's config: %w", err)
	}
	if got.Config == nil {
		return fmt.Errorf("the engine shows no config")
	}
	created, _ := time.Parse(time.RFC3339Nano, got.Created)
	w := want.Config
	for _, d := range []struct {
		what string
		ok   bool
	}{
		{"architecture", got.Architecture == want.Architecture},
		{"os", got.Os == want.OS},
		{"created", created.Equal(want.Created)},
		{"cmd", slices.Equal(got.Config.Cmd, w.Cmd)},
		{"entrypoint", slices.Equal(got.Config.Entrypoint, w.Entrypoint)},
		{"env", slices.Equal(got.Config.Env, w.Env)},
		{"labels", maps.Equal(got.Config.Labels, w.Labels)},
		{"working directory", got.Config.WorkingDir == w.WorkingDir},
		{"exposed ports", slices.Equal(sortedKeys(got.Config.ExposedPorts), sortedKeys(w.ExposedPorts))},
		{"volumes", slices.Equal(sortedKeys(got.Config.Volumes), sortedKeys(w.Volumes))},
	} {
		if !d.ok {
			return fmt.Errorf("its %s differs from the image's", d.what)
		}
	}
	return nil
}

func sortedKeys[K ~string, V any](m map[K]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, string(k))
	}
	slices.Sort(keys)
	return keys
}
