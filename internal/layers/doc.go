// Package layers decides which store paths share a Docker layer, and in
// what order the layers stack.
//
// It is pure policy: it reads a closure (paths, sizes, references) and
// returns groups of store paths, bottom first. It reads no files and
// writes no tars (package image does), and it never asks an engine what it
// holds (package docker does).
//
// The plan follows the engine's costs (docs/images.md, "Cost model"): an
// engine pays more per layer than for the bytes, and reuses a layer only
// when every layer below it is the same (its ChainID). So the paths
// packages share go at the bottom in few layers, each package with the
// paths only it uses above them, large paths alone where that pays, and
// the app's own small paths (its sources, its config files, the system
// path) in one layer on top: a change to the app resends that layer only.
package layers
