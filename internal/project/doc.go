// Package project turns an app file and the modules it uses into a
// Project: the services, files, users, directories and image settings of
// one image, with every value evaluated, typed and checked, and the
// policies that follow from them (the account files, the health check).
//
// Package references (pkgs.X), paths beside the HCL file (path("x")) and
// generated files (file.NAME) evaluate to placeholders inside strings; the
// Project keeps the table they point into, and internal/nixexpr turns them
// into Nix interpolations. Placeholders are opaque: functions that would
// read their characters refuse them (funcs.go), and every evaluated value
// is checked to hold only whole ones. funcs.go also offers HCL files the
// quoting functions and checks of internal/quote.
//
// Each block kind has its file: image.go, service.go (a table with one
// decoder per service attribute), user.go, group.go, directory.go,
// file.go, module.go, nixpkgs.go; load.go drives them and checks what
// only the whole project can tell. It reads the app file and module
// sources, and looks at the file system only for path() (path.go: the
// target stays in the app's directory, what .nix-dockerignore leaves out,
// what looks like a secret) and to check that a pinned nixpkgs path
// exists. It never runs Nix, renders nothing and builds nothing.
package project
