// Package nixbuild runs Nix: it realises an expression and reports the
// closure of the result (every store path, its size and references), and
// opens nix-shell on an expression (`nix-docker shell`). It knows nothing
// of HCL, images or Docker.
package nixbuild
