package deploy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Options configure Receive.
type Options struct {
	Settings Settings  // as given to the hook; unset fields come from git config, then the defaults
	GitDir   string    // the repository (the hook runs in it; "" means the current directory)
	Binary   string    // the nix-docker binary that builds the image
	Engine   Engine    // where the image is loaded and the containers run
	Log      io.Writer // what the pusher sees
}

// Update is one line of a pre-receive hook's input: a ref moving from Old
// to New (all zeros: created or deleted).
type Update struct{ Old, New, Ref string }

const zeroRev = "0000000000000000000000000000000000000000"

var updateRE = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) (refs/\S+)$`)

// ReadUpdates parses a pre-receive hook's standard input.
func ReadUpdates(in io.Reader) ([]Update, error) {
	var out []Update
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := updateRE.FindStringSubmatch(sc.Text())
		if m == nil {
			return nil, fmt.Errorf("unexpected hook input %q: want lines of \"OLD NEW REF\", as git gives a pre-receive hook", sc.Text())
		}
		out = append(out, Update{Old: m[1], New: m[2], Ref: m[3]})
	}
	return out, sc.Err()
}

func deletes(u Update) bool { return strings.Trim(u.New, "0") == "" }

// Receive is the pre-receive hook: it deploys the push to the deploy
// branch, if the push has one, and returns an error (which rejects the
// whole push) when the build or the new container fails. Pushes to other
// refs pass untouched.
func Receive(ctx context.Context, in io.Reader, o Options) error {
	updates, err := ReadUpdates(in)
	if err != nil {
		return err
	}
	repo, err := openRepo(ctx, o.GitDir)
	if err != nil {
		return err
	}
	s, err := repo.resolve(ctx, o.Settings)
	if err != nil {
		return err
	}
	var target *Update
	for i, u := range updates {
		if u.Ref != "refs/heads/"+s.Branch {
			fmt.Fprintf(o.Log, "-----> %s is not the deploy branch (%s): accepted without deploying\n", u.Ref, s.Branch)
			continue
		}
		target = &updates[i]
	}
	if target == nil {
		return nil
	}
	if deletes(*target) {
		return fmt.Errorf("deleting %s would leave the running app without its source; stop the app with docker stop instead", s.Branch)
	}
	unlock, err := lock(repo.dir, o.Log)
	if err != nil {
		return err
	}
	defer unlock()
	return deploy(ctx, repo, s, target.New, o)
}

// deploy builds rev and releases it.
func deploy(ctx context.Context, repo gitRepo, s Settings, rev string, o Options) error {
	fmt.Fprintf(o.Log, "-----> Deploying %s at %s as %s\n", s.Branch, shortRev(rev), s.Name)
	dir, err := os.MkdirTemp("", "nix-docker-deploy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "src")
	if err := repo.checkout(ctx, rev, src, filepath.Join(dir, "index")); err != nil {
		return err
	}
	if st, err := os.Stat(filepath.Join(src, s.File)); err != nil || st.IsDir() {
		return fmt.Errorf("%s has no file %s to build: add it, or name the app file with `git config nix-docker.file PATH` in %s", shortRev(rev), s.File, repo.dir)
	}
	when, err := repo.commitTime(ctx, rev)
	if err != nil {
		return err
	}
	tag := s.Name + ":" + shortRev(rev)
	latest := s.Name + ":latest"
	// The build loads only the layers the engine lacks under the tag it
	// moves: point the new tag at the serving image first.
	if _, err := o.Engine.Image(ctx, latest); err == nil {
		if err := o.Engine.Tag(ctx, latest, tag); err != nil {
			return err
		}
	}
	keep := false
	defer func() {
		if !keep {
			o.Engine.Untag(context.WithoutCancel(ctx), tag)
		}
	}()
	fmt.Fprintf(o.Log, "-----> Building %s\n", s.File)
	if err := build(ctx, o.Binary, src, s, tag, when, o.Log); err != nil {
		return err
	}
	ports, _ := portMap(s.Ports)
	res, err := Release{
		Engine: o.Engine, App: s.Name, Rev: rev, Image: tag, Publish: s.Publish,
		Ports: ports, Env: s.Env, Timeout: s.Timeout, Log: o.Log,
	}.Run(ctx)
	if err != nil {
		return err
	}
	keep = true
	if res.Unchanged {
		fmt.Fprintf(o.Log, "-----> %s already serves %s\n", res.Container, shortRev(rev))
		return nil
	}
	if err := o.Engine.Tag(ctx, tag, latest); err != nil {
		return err
	}
	for _, c := range res.Retired {
		if old := strings.TrimPrefix(c, s.Name+"-"); old != c && old != shortRev(rev) {
			o.Engine.Untag(ctx, s.Name+":"+old)
		}
	}
	if len(res.Retired) > 0 {
		fmt.Fprintf(o.Log, "-----> Retired %s\n", strings.Join(res.Retired, ", "))
	}
	if res.Gap > 0 {
		fmt.Fprintf(o.Log, "       the ports were not served for %.1fs (stopping the old container took %.1fs)\n", res.Gap.Seconds(), res.Stopping.Seconds())
	}
	fmt.Fprintf(o.Log, "-----> Deployed %s: container %s, image %s\n", shortRev(rev), res.Container, tag)
	for _, p := range res.Published {
		fmt.Fprintf(o.Log, "       %s\n", p)
	}
	return nil
}

// build runs `nix-docker -b` on the checked-out app file. Its output,
// diagnostics with the file's path as in the repository included, goes
// to the pusher.
func build(ctx context.Context, binary, src string, s Settings, tag string, when time.Time, log io.Writer) error {
	args := []string{"-b", "-t", tag}
	for _, i := range s.Include {
		args = append(args, "-I", i)
	}
	args = append(args, s.File)
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = src
	cmd.Stderr = log // progress and diagnostics; stdout has only the image ID, which the log shows
	// The hook's git variables point at the repository and its
	// quarantine; the build has no business with them.
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "GIT_") && !strings.HasPrefix(e, "SOURCE_DATE_EPOCH=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, fmt.Sprintf("SOURCE_DATE_EPOCH=%d", when.Unix()))
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("the build of %s failed (above); nothing was deployed", s.File)
		}
		return fmt.Errorf("running %s: %w", binary, err)
	}
	return nil
}

// lock serialises deployments of one repository: a second push waits
// for the first to finish.
func lock(dir string, log io.Writer) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "nix-docker-deploy.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintln(log, "-----> Waiting for another deployment of this repository to finish")
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
		}
	}
	return func() { f.Close() }, nil
}
