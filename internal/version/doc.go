// Package version tells which nix-docker a binary is, from the build
// information Go writes into every binary: the module version (a tag, or
// a pseudo-version that `go install module@version` and checkout builds
// get) and, for a build in a git checkout, the commit, its time and
// whether the work tree had uncommitted changes.
//
// It reads; it does not stamp anything at build time (no -ldflags -X), so
// a binary built any way knows as much as Go recorded.
package version
