// Package docker talks to the image engine, Docker or Podman, through the
// Engine API only (never a CLI).
//
// Its job is moving images between nix-docker and the engine cheaply and
// safely. Describe finds out what the engine is: Docker or Podman, its
// image store (Docker's classic graphdriver store or its containerd
// store), and whether it shares this machine's loopback. Load sends a
// docker-archive under a temporary name (TempRepository), leaving out
// the layers the engine holds (what it holds comes from every image
// nix-docker built there: Holdings, one image list by label, layers from
// a ledger kept on this host) and falling back to the full archive when
// the engine refuses that; Pull has the engine pull from a registry on
// this machine's loopback (Podman told, per request, not to expect TLS);
// Verify checks what the engine then holds against the plan (layers,
// identity). Base and SaveLayers read a --from base image; Prune removes
// an app's untagged images. It builds nothing (the image comes in as an
// Archive), serves no registry, tags nothing on its own and decides
// nothing about which way to load (package output does).
package docker
