// Package oci shows a built image (package image's *Image) to
// go-containerregistry as a v1.Image, so that its remote, layout and
// registry packages can send it: an OCI manifest whose layers are the
// image's layer tars as deterministic gzip streams (image.GzipLevel),
// the image's own config (so the config digest, the image ID, is the one
// the engine gets), and the annotations a registry shows.
//
// A layer's compressed digest is learnt once and kept in the layer cache
// (image.Layer.Compressed); its bytes are made again from the store when
// they are read. Nothing here talks to a registry: package output pushes,
// with go-containerregistry's remote package.
package oci
