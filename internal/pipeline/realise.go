package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nix-docker/nix-docker/internal/contract"
	"github.com/nix-docker/nix-docker/internal/nixbuild"
	"github.com/nix-docker/nix-docker/internal/project"
)

// realised is what Nix made of the expression.
type realised struct {
	System  string              // the system store path
	Init    string              // the init binary's store path
	Closure []nixbuild.PathInfo // the system path's closure
	Meta    contract.Metadata   // the image settings Nix resolved
}

// realise is the third stage: Nix builds the expression; the system
// path's closure (from the closure cache when the path was built before)
// and the values only Nix could resolve are read back. A failed build of
// a generated file is reported at its declaration.
func (r *run) realise(ctx context.Context, p *project.Project, expr []byte) (realised, error) {
	r.logf("building %s with nix-build", r.opts.File)
	end := r.timed("nix-build")
	system, err := r.nixBuild(ctx, expr, "")
	end()
	if err != nil {
		return realised{}, diagnose(p, err)
	}
	end = r.timed("the closure (cache or nix path-info)")
	closure, err := r.closure(ctx, system)
	end()
	if err != nil {
		return realised{}, err
	}
	out := realised{System: system, Closure: closure}
	b, err := os.ReadFile(r.storeFile(system, contract.MetadataFile))
	if err != nil {
		return realised{}, err
	}
	if err := json.Unmarshal(b, &out.Meta); err != nil {
		return realised{}, fmt.Errorf("reading %s/%s: %w", system, contract.MetadataFile, err)
	}
	if out.Init, err = os.Readlink(r.storeFile(system, contract.InitLink)); err != nil {
		return realised{}, fmt.Errorf("finding the init in %s: %w", system, err)
	}
	return out, nil
}

// nixBuild has Nix build an expression, written to a temporary file.
func (r *run) nixBuild(ctx context.Context, expr []byte, outLink string) (string, error) {
	dir, err := os.MkdirTemp("", "nix-docker-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "default.nix")
	if err := os.WriteFile(file, expr, 0o644); err != nil {
		return "", err
	}
	return r.nix.Build(ctx, file, outLink)
}

// storeFile is where a file of a store path lies on this host.
func (r *run) storeFile(storePath, rel string) string {
	return filepath.Join(r.root, filepath.FromSlash(storePath), filepath.FromSlash(rel))
}
