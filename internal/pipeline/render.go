package pipeline

import (
	"path/filepath"

	"github.com/nix-docker/nix-docker/internal/nixexpr"
	"github.com/nix-docker/nix-docker/internal/project"
)

// render is the second stage: the project's Nix expression.
func (r *run) render(p *project.Project) ([]byte, error) {
	return nixexpr.Render(p, nixexpr.Options{InitPath: r.opts.InitPath, Source: filepath.Base(r.opts.File)})
}
