package pipeline

import (
	"github.com/nix-docker/nix-docker/internal/project"
)

// load is the first stage: the app file and the modules it uses, read,
// evaluated and checked. Warnings go to Options.Warnings.
func (r *run) load() (*project.Project, error) {
	p, diags := project.LoadWith(r.parser, r.opts.File, project.Options{AllowPaths: r.opts.AllowPaths})
	if diags.HasErrors() {
		return nil, &Error{Diags: diags}
	}
	if len(p.Warnings) > 0 && r.opts.Warnings != nil {
		r.opts.Warnings(p.Warnings, r.parser.Files())
	}
	return p, nil
}
