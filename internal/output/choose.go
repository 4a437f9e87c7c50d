package output

import (
	"fmt"

	"github.com/nix-docker/nix-docker/internal/docker"
)

// The ways to load an image into an engine, as --load-via names them.
const (
	ViaAuto     = ""         // the fastest correct way for the engine
	ViaArchive  = "archive"  // the full docker-archive
	ViaPartial  = "partial"  // the docker-archive without the layers the engine holds
	ViaRegistry = "registry" // the engine pulls from a registry on 127.0.0.1
)

// ForEngine returns the output that loads into the engine e (reached
// through c) under tag: the way via asks for, or with ViaAuto the
// fastest correct way for e. It says in words which way and why.
//
//   - The classic store takes an archive without the layers it holds
//     (partial).
//   - The containerd store and Podman refuse that; they pull from a
//     registry nix-docker serves on 127.0.0.1, fetching only the blobs
//     they lack (registry).
//   - An engine of those that cannot reach this machine's loopback gets
//     the full archive (archive).
func ForEngine(c EngineClient, e docker.Engine, tag string, bases []string, via string) (Output, string, error) {
	switch via {
	case ViaArchive:
		return NewEngine(c, e, tag, bases, true), "the full docker-archive, as asked", nil
	case ViaPartial:
		return NewEngine(c, e, tag, bases, false), "the partial docker-archive, as asked", nil
	case ViaRegistry:
		why := "the loopback registry, as asked"
		if !e.Local {
			why += " (though the engine looks remote: " + e.Remote + ")"
		}
		return NewLoopback(c, e, tag), why, nil
	case ViaAuto:
	default:
		return nil, "", fmt.Errorf("--load-via %q: want archive, partial or registry", via)
	}
	switch {
	case e.Store == docker.StoreClassic:
		return NewEngine(c, e, tag, bases, false), "the partial docker-archive: the classic store takes one without the layers it holds", nil
	case e.Local:
		return NewLoopback(c, e, tag), fmt.Sprintf("the loopback registry: %s refuses partial archives, and pulls only the blobs it lacks", storeName(e)), nil
	}
	return NewEngine(c, e, tag, bases, true), fmt.Sprintf("the full docker-archive: %s refuses partial archives, and cannot reach a registry on this machine's loopback (%s)", storeName(e), e.Remote), nil
}

func storeName(e docker.Engine) string {
	if e.Store == docker.StorePodman {
		return "Podman"
	}
	return "the containerd image store"
}
