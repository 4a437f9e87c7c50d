package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Container roles (LabelRole).
const (
	roleServing = "serving"
	roleTrial   = "trial"
)

// Release replaces an app's serving container with one running Image.
type Release struct {
	Engine  Engine
	App     string      // the deployment's name: containers are APP-REV
	Rev     string      // the commit Image was built from
	Image   string      // the image to run, a reference the engine knows
	Publish string      // host address the ports are published on
	Ports   map[int]int // container port → host port, where they differ
	Env     []string
	Timeout time.Duration // how long a container may take to become healthy
	Log     io.Writer
}

// Result says what a release did.
type Result struct {
	Container string        // the serving container's name
	Published []string      // "127.0.0.1:8080->8080/tcp", sorted
	Retired   []string      // the containers it replaced
	Stopping  time.Duration // how long the old container took to stop (0: none served)
	Gap       time.Duration // from asking the old container to stop until the new one was healthy (0: none served)
	Unchanged bool          // Rev was serving already; nothing was done
}

// Run deploys: when a container of the app is serving, it first runs the
// new image in a trial container without ports and waits for its health
// check, and gives up with the old one untouched if that fails. Then it
// stops the old container, starts the new one with the app's ports and
// named volumes, and waits for its health check; if the new one fails,
// it is removed and the old one started again. Two containers cannot
// publish the same host port, so between the old one's stop and the new
// one's health the ports are not served (Result.Gap).
func (r Release) Run(ctx context.Context) (Result, error) {
	img, err := r.Engine.Image(ctx, r.Image)
	if err != nil {
		return Result{}, err
	}
	if len(img.Health) == 0 {
		return Result{}, fmt.Errorf("image %s has neither a health check nor an entrypoint: not a nix-docker image", r.Image)
	}
	ports, err := r.hostPorts(img.Ports)
	if err != nil {
		return Result{}, err
	}
	all, err := r.Engine.Containers(ctx, r.App)
	if err != nil {
		return Result{}, err
	}
	name := r.App + "-" + shortRev(r.Rev)
	var serving, stale []Container
	for _, c := range all {
		switch {
		case c.Role == roleServing && c.Running && c.Rev == r.Rev:
			return Result{Container: c.Name, Unchanged: true}, nil
		case c.Role == roleServing && c.Running:
			serving = append(serving, c)
		default:
			stale = append(stale, c) // stopped, or a trial a killed hook left
		}
	}
	for _, c := range stale {
		if c.Name == name || c.Name == name+"-trial" || c.Role == roleTrial {
			if err := r.Engine.Remove(ctx, c.ID); err != nil {
				return Result{}, fmt.Errorf("removing the leftover container %s: %w", c.Name, err)
			}
		}
	}
	if len(serving) > 0 {
		if err := r.trial(ctx, name+"-trial", img); err != nil {
			return Result{}, err
		}
	}
	res, err := r.replace(ctx, name, img, ports, serving)
	if err != nil {
		return res, err
	}
	// What a failed run left behind is retired with the old version.
	for _, c := range stale {
		if c.Name != name && c.Role != roleTrial {
			if err := r.Engine.Remove(ctx, c.ID); err == nil {
				res.Retired = append(res.Retired, c.Name)
			}
		}
	}
	return res, nil
}

// hostPorts maps each exposed port to its host port: the same number
// unless r.Ports says otherwise.
func (r Release) hostPorts(exposed []string) (map[string]int, error) {
	out := map[string]int{}
	used := map[string]bool{}
	for _, p := range exposed {
		num, _, _ := strings.Cut(p, "/")
		n, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("the image exposes %q, not a port", p)
		}
		out[p] = n
		if hp, ok := r.Ports[n]; ok {
			out[p] = hp
		}
	}
	for cp := range r.Ports {
		if !containsPort(exposed, cp) {
			return nil, fmt.Errorf("port %d:%d: the app exposes no port %d (it exposes %s)", r.Ports[cp], cp, cp, strings.Join(exposed, ", "))
		}
	}
	for p, hp := range out {
		_, proto, _ := strings.Cut(p, "/")
		key := fmt.Sprintf("%d/%s", hp, proto)
		if used[key] {
			return nil, fmt.Errorf("two of the app's ports would be published on host port %d: map one elsewhere with --port HOST:CONTAINER", hp)
		}
		used[key] = true
	}
	return out, nil
}

func containsPort(exposed []string, n int) bool {
	for _, p := range exposed {
		if num, _, _ := strings.Cut(p, "/"); num == strconv.Itoa(n) {
			return true
		}
	}
	return false
}

// trial runs the image in a container without ports or named volumes
// until it is healthy, then removes it.
func (r Release) trial(ctx context.Context, name string, img ImageInfo) error {
	fmt.Fprintf(r.Log, "-----> Trying the new version in a container of its own (%s), beside the serving one\n", name)
	id, err := r.Engine.Create(ctx, ContainerSpec{Name: name, Image: r.Image, App: r.App, Rev: r.Rev, Role: roleTrial, Env: r.Env})
	if err != nil {
		return err
	}
	defer r.Engine.Remove(context.WithoutCancel(ctx), id)
	if err := r.Engine.Start(ctx, id); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	took, err := r.waitHealthy(ctx, id, img.Health)
	if err != nil {
		r.showLogs(ctx, id, name)
		return fmt.Errorf("the new version did not become healthy in its trial container: %w", err)
	}
	fmt.Fprintf(r.Log, "       healthy after %.1fs\n", took.Seconds())
	return nil
}

// replace stops the serving containers, starts the new one and waits for
// it; on failure it removes the new one and starts the old ones again.
func (r Release) replace(ctx context.Context, name string, img ImageInfo, ports map[string]int, old []Container) (Result, error) {
	res := Result{Container: name}
	for p, hp := range ports {
		res.Published = append(res.Published, fmt.Sprintf("%s:%d->%s", r.Publish, hp, p))
	}
	sort.Strings(res.Published)
	// Create before stopping the old one: creating binds no ports, and
	// its time is then not part of the gap.
	fmt.Fprintf(r.Log, "-----> Starting %s: %s\n", name, strings.Join(res.Published, ", "))
	volumes := map[string]string{}
	for _, v := range img.Volumes {
		volumes[v] = volumeName(r.App, v)
	}
	id, err := r.Engine.Create(ctx, ContainerSpec{
		Name: name, Image: r.Image, App: r.App, Rev: r.Rev, Role: roleServing, Env: r.Env,
		Publish: r.Publish, Ports: ports, Volumes: volumes, Restart: true,
	})
	if err != nil {
		return res, err
	}
	begin := time.Now()
	if len(old) > 0 {
		fmt.Fprintf(r.Log, "       stopping %s to free the ports\n", names(old))
	}
	for i, o := range old {
		if err := r.Engine.Stop(ctx, o.ID); err != nil {
			r.Engine.Remove(context.WithoutCancel(ctx), id)
			return res, r.restore(ctx, old[:i+1], fmt.Errorf("stopping %s: %w", o.Name, err))
		}
	}
	if len(old) > 0 {
		res.Stopping = time.Since(begin)
	}
	fail := func(err error) (Result, error) {
		r.showLogs(ctx, id, name)
		if rmErr := r.Engine.Remove(context.WithoutCancel(ctx), id); rmErr != nil {
			err = fmt.Errorf("%w (and removing %s failed: %v)", err, name, rmErr)
		}
		return res, r.restore(ctx, old, err)
	}
	if err := r.Engine.Start(ctx, id); err != nil {
		return fail(fmt.Errorf("starting %s: %w", name, err))
	}
	started := time.Since(begin) - res.Stopping
	took, err := r.waitHealthy(ctx, id, img.Health)
	if err != nil {
		return fail(fmt.Errorf("%s did not become healthy: %w", name, err))
	}
	if len(old) > 0 {
		res.Gap = time.Since(begin)
	}
	if len(old) > 0 {
		fmt.Fprintf(r.Log, "       stopped the old in %.1fs, ", res.Stopping.Seconds())
	} else {
		fmt.Fprint(r.Log, "       ")
	}
	fmt.Fprintf(r.Log, "started the new in %.1fs, healthy %.1fs later\n", started.Seconds(), took.Seconds())
	for _, o := range old {
		if err := r.Engine.Remove(ctx, o.ID); err != nil {
			fmt.Fprintf(r.Log, " !     could not remove the old container %s: %v\n", o.Name, err)
			continue
		}
		res.Retired = append(res.Retired, o.Name)
	}
	return res, nil
}

// restore starts the old containers again after a failed replacement and
// returns cause, with what became of them. It works on after the push
// was cancelled: the old version must serve again.
func (r Release) restore(ctx context.Context, old []Container, cause error) error {
	if len(old) == 0 {
		return cause
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout()+time.Minute)
	defer cancel()
	fmt.Fprintf(r.Log, "-----> Rolling back: starting %s again\n", names(old))
	var errs []error
	for _, o := range old {
		if err := r.Engine.Start(ctx, o.ID); err != nil {
			errs = append(errs, fmt.Errorf("starting %s: %w", o.Name, err))
			continue
		}
		img, err := r.Engine.Image(ctx, o.Image)
		if err != nil || len(img.Health) == 0 {
			continue // started; its health cannot be asked
		}
		if _, err := r.waitHealthy(ctx, o.ID, img.Health); err != nil {
			errs = append(errs, fmt.Errorf("%s is not healthy again: %w", o.Name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w; rolling back failed too: %w", cause, errors.Join(errs...))
	}
	return fmt.Errorf("%w; rolled back: %s serves again", cause, names(old))
}

// waitHealthy runs the health command in the container until it exits 0,
// the container stops, or the timeout passes.
func (r Release) waitHealthy(ctx context.Context, id string, health []string) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(r.timeout())
	last := ""
	for {
		running, code, err := r.Engine.State(ctx, id)
		if err != nil {
			return 0, err
		}
		if !running {
			return 0, fmt.Errorf("its init exited with code %d", code)
		}
		tryCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		code, out, err := r.Engine.Exec(tryCtx, id, health)
		cancel()
		switch {
		case err == nil && code == 0:
			return time.Since(start), nil
		case err != nil:
			last = err.Error()
		default:
			last = strings.TrimSpace(out)
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("not healthy after %s: %s", r.timeout(), last)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (r Release) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

// showLogs prints the last lines of a container's output to the pusher.
func (r Release) showLogs(ctx context.Context, id, name string) {
	out, err := r.Engine.Logs(context.WithoutCancel(ctx), id, 30)
	if err != nil || strings.TrimSpace(out) == "" {
		return
	}
	fmt.Fprintf(r.Log, "       the last lines %s wrote:\n", name)
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		fmt.Fprintf(r.Log, "       | %s\n", line)
	}
}

func names(cs []Container) string {
	var n []string
	for _, c := range cs {
		n = append(n, c.Name)
	}
	return strings.Join(n, ", ")
}

func shortRev(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

var unsafeVolumeChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// volumeName is the named volume that keeps an app's volume path across
// deployments: /var/lib/postgresql of app shop is shop-var-lib-postgresql.
func volumeName(app, path string) string {
	s := strings.Trim(unsafeVolumeChars.ReplaceAllString(path, "-"), "-")
	if s == "" {
		s = "root"
	}
	return app + "-" + s
}
