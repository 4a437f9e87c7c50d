// Package e2e holds end-to-end tests: they build the nix-docker binaries,
// build the examples with the real Nix into images loaded into the real
// Docker engine, run them and talk to them on 127.0.0.1.
package e2e
