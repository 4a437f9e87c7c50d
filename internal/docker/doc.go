// Package docker loads images into a Docker engine and tags them, through
// the Engine API only (never the docker CLI).
//
// Its job is moving images between nix-docker and the engine cheaply and
// safely: Load asks the engine which layers it already holds, sends only
// the rest (falling back to a full archive when the engine refuses a
// partial one), and moves the tag only after the load succeeded (what the
// engine holds comes from every image nix-docker built there: Holdings,
// one image list by label, layers from a ledger kept on this host); Base and
// SaveLayers read a --from base image (its layers cached under names only
// this package knows); Prune removes an app's untagged images. It builds
// nothing (the image comes in as an Archive) and decides nothing about
// when to load or what to fetch (package pipeline and the engine output
// in package output do).
package docker
