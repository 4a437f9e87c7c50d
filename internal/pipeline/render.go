package pipeline

import (
	"path/filepath"

	"github.com/nix-docker/nix-docker/internal/initsrc"
	"github.com/nix-docker/nix-docker/internal/nixexpr"
	"github.com/nix-docker/nix-docker/internal/project"
)

// render is the second stage: the project's Nix expression. Without a
// prebuilt init (--init), the init's source goes to the user's cache
// directory, for Nix to build the init from.
func (r *run) render(p *project.Project) ([]byte, error) {
	opts := nixexpr.Options{InitPath: r.opts.InitPath, Source: filepath.Base(r.opts.File)}
	if opts.InitPath == "" {
		dir, err := initsrc.DefaultDir()
		if err != nil {
			return nil, err
		}
		if opts.InitSource, err = initsrc.Write(dir); err != nil {
			return nil, err
		}
	}
	return nixexpr.Render(p, opts)
}
