// Command nix-docker-init is the PID 1 of nix-docker images: it reads the
// runspec given on its command line, prepares /tmp, /run and the declared
// directories, runs the services through package supervise, turns TERM,
// INT and QUIT into an ordered stop (a second one KILLs every service) and
// exits like tini (0 on a requested stop, the failing critical service's
// code otherwise).
//
// The same binary is the control client (`ctl`, over a unix socket, for
// `docker exec`) and the Nix builder that writes the image's small files
// (`build-files`), so generated derivations need nothing from nixpkgs.
//
// Reaping is package reap's job, process management package supervise's.
package main
