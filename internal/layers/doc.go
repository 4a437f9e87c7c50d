// Package layers decides which store paths share a Docker layer, and in
// what order the layers stack.
//
// It is pure policy: it reads a closure (paths, sizes, references) and
// returns groups of store paths, bottom first. It reads no files and
// writes no tars (package image does).
//
// The order matters because an engine reuses a layer only when every layer
// below it is the same: widely shared, rarely changing paths (glibc,
// openssl) go at the bottom, the roots (the system path, the app) on top,
// and the order of two paths depends only on those paths, so that adding
// or changing one path leaves the layers below it as they were.
package layers
