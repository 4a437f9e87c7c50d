// Package nixdocker carries the source code of nix-docker's init (PID 1
// and the Nix file builder) inside the nix-docker binary, so that one
// `go install .../cmd/nix-docker@VERSION` is enough: Nix builds the init
// from this source with nixpkgs' Go (package internal/initsrc writes it
// out and says how).
//
// It holds the embedded files only. go:embed cannot reach parent
// directories, so this package sits at the module root, above init/ and
// internal/. It does not build, filter or write anything.
package nixdocker
