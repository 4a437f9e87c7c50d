// Package output delivers a finished image to where it goes: the image
// engine, as a docker-archive (engine.go) or through a registry it serves
// on 127.0.0.1 for the length of the load (loopback.go,
// loopback_registry.go), the way ForEngine picks for the engine
// (choose.go); a docker-archive file (archive.go); an OCI image layout
// (oci.go); a registry (push.go, with go-containerregistry). Each is an
// Output; they are peers, and the pipeline feeds the ones the command line
// chose without knowing which they are.
//
// Delivery has two steps, so that a build either completes everywhere or
// changes nothing: Deliver sends the image but leaves it invisible (the
// engine holds it, checked against the plan, under a temporary name; the
// file is a temporary one; the registry has the blobs but no manifest),
// Commit makes it visible (moves the tag and drops the temporary name,
// renames the file into place, puts the manifest), Abort undoes
// Deliver when another output failed.
//
// It builds no image (package image does), plans nothing, runs no Nix; it
// speaks to the engine only through package docker, and shows images to
// go-containerregistry through package oci.
package output
