// Package project turns an app file and the modules it uses into a
// Project: the services, files, users, directories and image settings of
// one image, with every value evaluated, typed and checked.
//
// Package references (pkgs.X), paths beside the HCL file (path("x")) and
// generated files (file.NAME) evaluate to placeholders inside strings; the
// Project keeps the table they point into, and internal/nixexpr turns them
// into Nix interpolations. The package reads HCL sources (the app's and
// modules') and nothing else; it never runs Nix.
package project
