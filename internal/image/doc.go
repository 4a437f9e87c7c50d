// Package image turns store paths into a Docker image: one deterministic
// tar per layer, the image config, and the docker-archive (docker save
// format) that carries them.
//
// Same input, same bytes: entries are sorted, owners are 0, every mtime is
// fixed, and nothing of the build host (user names, xattrs, access times)
// leaks into a layer. Layer tars are cached on disk, keyed by their store
// paths, so an unchanged layer is never re-tarred.
//
// It decides nothing about which path goes in which layer (package layers
// does) and never talks to a Docker engine (package docker does).
package image
