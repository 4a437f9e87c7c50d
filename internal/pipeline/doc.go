// Package pipeline sequences a build: the one package that knows every
// stage and the order they run in.
//
//	load      app file + modules -> project.Project          (load.go)
//	render    Project -> Nix expression                       (render.go)
//	realise   expression -> system store path, its closure,
//	          the values only Nix resolves                    (realise.go, diagnose.go;
//	          the closure cache: closures.go)
//	plan      closure - the --from base's paths -> layers     (plan.go, base.go)
//	write     layers + project -> image.Image (tars, config)  (write.go)
//	deliver   image -> each output, then commit them all      (deliver.go)
//
// Build runs them for `nix-docker -b`; HostStore runs load, render and
// realise, writes a metadata-only image and builds host-store mode's
// result (hoststore.go). A failed build of a file whose check refused it
// is reported at the file's HCL declaration (diagnose.go). Check, Render
// and ModuleOptions serve the read-only commands (check.go); Prune
// removes an app's old images (prune.go).
//
// Nix and the Docker engine are reached through the narrow interfaces Nix
// and Engine, given once per build in Deps, so the sequencing is tested
// with fakes. The outputs (package output) are given by the caller: the
// pipeline does not know which it feeds; it asks them only whether they
// need the base image's layer tars. Each stage's work is done in its own
// package (project, nixexpr, nixbuild, layers, image, output); this one
// only passes typed values between them and never prints: progress goes
// to Options.Log, diagnostics back to the caller.
package pipeline
