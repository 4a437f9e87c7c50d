// Package schema decodes the structure of nix-docker's HCL files: which
// blocks and attributes exist, their labels and where they were declared.
//
// It checks shape only (unknown blocks and attributes, labels and the one
// rule for names in name.go, duplicates within one file) and keeps every expression unevaluated, with its range,
// so that internal/project can evaluate them in the right context (module
// options, package references) and point errors at the source. It never
// evaluates, renders Nix or touches the file system beyond reading sources.
//
// Each block kind has its file (service.go, module.go, ...) holding its
// struct, its body schema and its decoder; decode.go dispatches.
package schema
