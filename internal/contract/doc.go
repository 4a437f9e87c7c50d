// Package contract holds the names and types that the stages of
// nix-docker agree on across a process boundary: the layout of the system
// store path (which the Nix expression writes, the pipeline reads and the
// image points at), the build-files entries the init writes as a Nix
// builder, the image metadata that Nix resolves, and the derivation
// attribute that ties a failed derivation back to its HCL block.
//
// Nothing else spells these names: a rename here is a rename everywhere,
// checked by the compiler instead of failing inside Nix or at container
// start. It holds constants and plain types only, on the standard
// library, so the in-image init may import it. The runspec (the init's
// configuration) is its own versioned contract, in package runspec.
package contract
