package pipeline

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/nix-docker/nix-docker/internal/project"
)

// Checked is a loaded app file: what the image will hold, in words, and
// the file's warnings with the sources they point into.
type Checked struct {
	Plan     string
	Warnings hcl.Diagnostics
	Files    map[string]*hcl.File
}

// Check loads the app file and describes it (`nix-docker check`); only
// opts.File and opts.AllowPaths matter.
func Check(opts Options) (*Checked, error) {
	r := newRun(opts, Deps{})
	p, err := r.load()
	if err != nil {
		return nil, r.done(err)
	}
	return &Checked{Plan: p.Describe(), Warnings: p.Warnings, Files: r.parser.Files()}, nil
}

// Render returns the app file's Nix expression (`nix-docker nix`); only
// opts.File, opts.InitPath and opts.AllowPaths matter. Without InitPath the
// init's source is written to the user's cache directory, where the
// expression finds it.
func Render(opts Options) ([]byte, error) {
	r := newRun(opts, Deps{})
	p, err := r.load()
	if err != nil {
		return nil, r.done(err)
	}
	return r.render(p)
}

// ModuleOptions documents the built-in modules' options as Markdown:
// all of them ("" name; docs/modules.md), or the one named.
func ModuleOptions(name string) (string, error) {
	return project.ModulesMarkdown(name)
}
