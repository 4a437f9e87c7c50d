package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// gitRepo is the repository a hook runs in.
type gitRepo struct{ dir string }

func openRepo(ctx context.Context, dir string) (gitRepo, error) {
	if dir == "" {
		dir = "."
	}
	gitDir, err := gitOutput(ctx, dir, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return gitRepo{}, err
	}
	return gitRepo{dir: gitDir}, nil
}

// resolve fills the settings given to the hook with the repository's git
// config and the defaults, and validates them.
func (g gitRepo) resolve(ctx context.Context, given Settings) (Settings, error) {
	cfg := map[string][]string{}
	for _, k := range configKeys {
		out, err := gitOutput(ctx, g.dir, "config", "--get-all", "nix-docker."+k)
		if err != nil {
			continue // not set
		}
		cfg[k] = strings.Split(out, "\n")
	}
	s, err := given.fromConfig(cfg)
	if err != nil {
		return s, err
	}
	head, _ := gitOutput(ctx, g.dir, "symbolic-ref", "--short", "HEAD")
	if head == "" {
		head = "main"
	}
	s = s.withDefaults(filepath.Base(g.dir), head)
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("deploy settings of %s: %w (set them in the hook, or with git config nix-docker.SETTING)", g.dir, err)
	}
	if s.Name == "" {
		return s, fmt.Errorf("cannot name the app after the repository %s: set a name with --name or `git config nix-docker.name NAME`", g.dir)
	}
	return s, nil
}

// checkout writes rev's tree into dir, using index as a scratch index so
// the repository's own is not touched.
func (g gitRepo) checkout(ctx context.Context, rev, dir, index string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"read-tree", rev},
		{"--work-tree=" + dir, "checkout-index", "--all"},
	} {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = g.dir
		cmd.Env = append(os.Environ(), "GIT_DIR="+g.dir, "GIT_INDEX_FILE="+index)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("checking out %s: git %s: %v: %s", shortRev(rev), strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// commitTime is rev's committer time, the image's creation time.
func (g gitRepo) commitTime(ctx context.Context, rev string) (time.Time, error) {
	out, err := gitOutput(ctx, g.dir, "show", "-s", "--format=%ct", rev)
	if err != nil {
		return time.Time{}, err
	}
	n, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("commit time of %s: %q", shortRev(rev), out)
	}
	return time.Unix(n, 0).UTC(), nil
}
