// Package nixexpr renders a Project as a Nix expression: pure, sorted,
// no I/O. The expression takes { pkgs ? import <nixpkgs> {} } and uses the
// package set only for package attributes; generated files and the system
// path are plain derivations whose builder is the nix-docker init binary,
// so any package set with the attributes will do. The system path's
// layout, the build-files entries and the attribute naming a file's block
// come from package contract; RenderHostStore renders host-store mode's
// result.
//
// It runs nothing and reads nothing: Nix (package nixbuild) builds what
// it renders, and only values that name store paths go through the
// expression to the image (contract.Metadata); the rest of the image
// config is the pipeline's.
package nixexpr
