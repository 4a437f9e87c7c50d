// Package output delivers a finished image to where it goes: the Docker
// engine (engine.go), a docker-archive file (archive.go), an OCI image
// layout (oci.go), a registry (push.go, with go-containerregistry). Each
// is an Output; they are peers, and the pipeline feeds the ones the
// command line chose without knowing which they are.
//
// Delivery has two steps, so that a build either completes everywhere or
// changes nothing: Deliver sends the image but leaves it invisible (the
// engine holds it untagged, the file is a temporary one, the registry
// has the blobs but no manifest), Commit makes it visible (moves the tag,
// renames the file into place, puts the manifest), Abort undoes
// Deliver when another output failed.
//
// It builds no image (package image does), plans nothing, runs no Nix; it
// speaks to the engine only through package docker.
package output
