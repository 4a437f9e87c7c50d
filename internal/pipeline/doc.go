// Package build sequences the stages of nix-docker: load the project,
// render the Nix expression, build it, read the closure, plan layers,
// write the image and load it into the engine. It is the only package that
// knows the whole pipeline; each stage lives in its own package.
package build
