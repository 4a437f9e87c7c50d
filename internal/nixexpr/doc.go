// Package nixexpr renders a Project as a Nix expression: pure, sorted,
// no I/O. The expression takes { pkgs ? import <nixpkgs> {} } and uses the
// package set only for package attributes; generated files and the system
// path are plain derivations whose builder is the nix-docker init binary,
// so any package set with the attributes will do.
package nixexpr
