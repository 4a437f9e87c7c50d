// Package initsrc gives Nix the init's source code that the nix-docker
// binary carries (package nixdocker at the module root embeds it): the
// Go files of init/, init/*/, internal/runspec and internal/contract,
// tests left out, plus a go.mod of their own (GoMod) whose go line is old
// enough for the Go of current nixpkgs releases.
//
// Write puts these files in a directory named by their hash under the
// user's cache directory, where the Nix expression finds them with
// builtins.path; a printed expression (`nix-docker nix`) therefore keeps
// building as long as the directory is there, and any nix-docker of the
// same version writes it back. The same source gives the same store path,
// so Nix builds the init once and then finds it in the store.
//
// It does not build anything and knows nothing of Nix: the derivation is
// rendered by package nixexpr.
package initsrc
