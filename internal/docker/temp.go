package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path"
	"strings"

	"github.com/docker/docker/api/types/image"
)

// TempRepository is the repository nix-docker loads images under until
// they are verified and tagged: only the requested tag names an image
// once a build is done. Prune removes what a killed build left under it.
const TempRepository = "nix-docker-load"

// TempTag returns a fresh tag for loading the image id under
// TempRepository: the ID's first 12 digits and a random suffix, so that
// two builds never share one.
func TempTag(id string) string {
	b := make([]byte, 4)
	rand.Read(b)
	hexID := strings.TrimPrefix(id, "sha256:")
	if len(hexID) > 12 {
		hexID = hexID[:12]
	}
	return hexID + "-" + hex.EncodeToString(b)
}

// IsTemporary tells whether ref names an image under TempRepository, on
// any registry host ("nix-docker-load:T", "localhost/nix-docker-load:T",
// "127.0.0.1:5000/nix-docker-load:T", and their digest forms).
func IsTemporary(ref string) bool {
	name, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	return path.Base(name) == TempRepository
}

// Remover is the part of the Engine API RemoveRef uses.
type Remover interface {
	ImageRemove(ctx context.Context, imageID string, opts image.RemoveOptions) ([]image.DeleteResponse, error)
}

// RemoveRef takes the name ref off its image. The image itself goes only
// when nothing else names it and no container uses it. A name already
// gone is no error.
func RemoveRef(ctx context.Context, c Remover, ref string) error {
	if _, err := c.ImageRemove(ctx, ref, image.RemoveOptions{}); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}
