// Package npm reads a Node.js project the way npm leaves it on disk:
// package.json, package-lock.json (lockfile v2 or v3) and the registry
// settings of the project's .npmrc. It tells what the node module needs
// to know before Nix runs: the command `npm start` would run, where each
// dependency comes from, and every reason the lockfile cannot be built
// from integrity hashes alone (no lockfile, lockfile v1, a lock out of
// sync with package.json, git and file: dependencies, entries without an
// integrity hash), each located in its file and named by its entry.
//
// It reads files only: it never runs npm, never fetches anything and
// knows nothing of Nix or HCL. Building node_modules is nixpkgs'
// importNpmLock's job (testdata/nixpkgs stands in for it offline).
package npm
