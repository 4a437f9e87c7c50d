// Package deploy turns a bare git repository into a deployment target:
// `git push` builds the pushed app file with nix-docker and, when the
// build succeeds and the new container becomes healthy, replaces the
// running container; otherwise the push is rejected and the running
// version keeps serving (docs/deploy.md).
//
// It writes and installs the pre-receive hook (Script, Install), and does
// the hook's work (Receive): read the pushed refs, check the commit out
// into a temporary directory, run the nix-docker binary to build and load
// the image, try it in a container of its own, then stop the old
// container, start the new one with the app's ports and wait for the
// init's health check, rolling back to the old container when the new
// one fails. It talks to the engine through the Engine API only, and to
// git through the git command.
//
// It does not build images itself (it runs the nix-docker binary, whose
// diagnostics the pusher sees as they are), route traffic (there is no
// proxy: the new container takes over the old one's host ports, see
// docs/deploy.md for the window this leaves), or manage TLS, domains or
// databases.
package deploy
