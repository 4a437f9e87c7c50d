// Package runspec is the versioned contract between the builder and the
// in-image init: the JSON document that nix-docker renders into the system
// store path and that the init reads at start.
//
// It holds data and the rules that both sides share (defaults, validation,
// the start order; problems come back as typed errors naming the service
// or the cycle). It knows nothing of HCL, Nix or Docker; the init imports it, so it must
// stay on the standard library.
package runspec
