// Package docker loads images into a Docker engine and tags them, through
// the Engine API only (never the docker CLI).
//
// Its one job is getting an image into the engine cheaply and safely: it
// asks the engine which layers it already holds, sends only the rest
// (falling back to a full archive when the engine refuses a partial one),
// and moves the tag only after the load succeeded. What the engine holds
// comes from every image nix-docker built there (Holdings: one image list
// by label, layers from a ledger kept on this host). It builds nothing; the
// image comes in as an Archive.
package docker
