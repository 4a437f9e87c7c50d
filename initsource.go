package nixdocker

import "embed"

// InitSource holds the Go files of the init and of the two packages it
// imports (runspec, contract), tests included: go:embed cannot leave them
// out, so package internal/initsrc does. A test there checks that these
// patterns cover every package the init imports.
//
//go:embed init/*.go init/*/*.go internal/runspec/*.go internal/contract/*.go
var InitSource embed.FS
