package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeEngine keeps containers in memory. Images named in unhealthy never
// pass the health check; containers of images in portTaken cannot start
// with published ports (as when something else holds a host port).
type fakeEngine struct {
	images     map[string]ImageInfo // by reference
	containers []*fakeContainer
	unhealthy  map[string]bool
	portTaken  map[string]bool
	calls      []string
	tags       map[string]string // tag → image ID
	nextID     int
}

type fakeContainer struct {
	Container
	spec ContainerSpec
}

func newFake() *fakeEngine {
	return &fakeEngine{images: map[string]ImageInfo{}, unhealthy: map[string]bool{}, portTaken: map[string]bool{}, tags: map[string]string{}}
}

func (f *fakeEngine) addImage(ref string, info ImageInfo) {
	f.images[ref] = info
	f.tags[ref] = info.ID
	f.images[info.ID] = info
}

func (f *fakeEngine) find(id string) *fakeContainer {
	for _, c := range f.containers {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func (f *fakeEngine) Image(_ context.Context, ref string) (ImageInfo, error) {
	if i, ok := f.images[ref]; ok {
		return i, nil
	}
	return ImageInfo{}, fmt.Errorf("image %s: %w", ref, ErrNotFound)
}
func (f *fakeEngine) Tag(_ context.Context, src, dst string) error {
	f.calls = append(f.calls, "tag "+src+" "+dst)
	f.images[dst] = f.images[src]
	return nil
}
func (f *fakeEngine) Untag(_ context.Context, ref string) error {
	f.calls = append(f.calls, "untag "+ref)
	delete(f.images, ref)
	return nil
}
func (f *fakeEngine) Containers(_ context.Context, app string) ([]Container, error) {
	var out []Container
	for _, c := range f.containers {
		if c.spec.App == app {
			out = append(out, c.Container)
		}
	}
	return out, nil
}
func (f *fakeEngine) Create(_ context.Context, s ContainerSpec) (string, error) {
	for _, c := range f.containers {
		if c.Name == s.Name {
			return "", fmt.Errorf("name %s in use", s.Name)
		}
	}
	f.nextID++
	id := fmt.Sprintf("id%d", f.nextID)
	f.calls = append(f.calls, "create "+s.Name)
	f.containers = append(f.containers, &fakeContainer{Container{ID: id, Name: s.Name, Image: f.images[s.Image].ID, Rev: s.Rev, Role: s.Role}, s})
	return id, nil
}
func (f *fakeEngine) Start(_ context.Context, id string) error {
	c := f.find(id)
	f.calls = append(f.calls, "start "+c.Name)
	if f.portTaken[c.spec.Image] && len(c.spec.Ports) > 0 {
		return errors.New("port is already allocated")
	}
	c.Running = true
	return nil
}
func (f *fakeEngine) Stop(_ context.Context, id string) error {
	c := f.find(id)
	f.calls = append(f.calls, "stop "+c.Name)
	c.Running = false
	return nil
}
func (f *fakeEngine) Remove(_ context.Context, id string) error {
	c := f.find(id)
	if c == nil {
		return nil
	}
	f.calls = append(f.calls, "remove "+c.Name)
	f.containers = slices.DeleteFunc(f.containers, func(x *fakeContainer) bool { return x.ID == id })
	return nil
}
func (f *fakeEngine) State(_ context.Context, id string) (bool, int, error) {
	c := f.find(id)
	if c == nil {
		return false, 0, errors.New("no such container")
	}
	return c.Running, 0, nil
}
func (f *fakeEngine) Exec(_ context.Context, id string, cmd []string) (int, string, error) {
	c := f.find(id)
	if f.unhealthy[c.Image] {
		return 1, "not ready: web", nil
	}
	return 0, "ok", nil
}
func (f *fakeEngine) Logs(context.Context, string, int) (string, error) {
	return "web | listening\n", nil
}

// serving adds a running container of app at rev.
func (f *fakeEngine) serving(app, rev, imageID string) {
	f.nextID++
	name := app + "-" + shortRev(rev)
	f.containers = append(f.containers, &fakeContainer{
		Container{ID: fmt.Sprintf("id%d", f.nextID), Name: name, Image: imageID, Rev: rev, Role: roleServing, Running: true},
		ContainerSpec{Name: name, App: app, Rev: rev, Role: roleServing},
	})
}

const (
	revA = "aaaaaaaaaaaa0000000000000000000000000000"
	revB = "bbbbbbbbbbbb0000000000000000000000000000"
)

func release(f *fakeEngine, log io.Writer) Release {
	return Release{Engine: f, App: "shop", Rev: revB, Image: "shop:bbbbbbbbbbbb", Publish: "127.0.0.1", Timeout: 300 * time.Millisecond, Log: log}
}

func imgInfo(id string) ImageInfo {
	return ImageInfo{ID: id, Ports: []string{"80/tcp", "8080/tcp"}, Volumes: []string{"/var/lib/redis"}, Health: []string{"/nix/store/x-init", "ctl", "health"}}
}

func TestReleaseFirst(t *testing.T) {
	f := newFake()
	f.addImage("shop:bbbbbbbbbbbb", imgInfo("sha256:b"))
	r := release(f, io.Discard)
	r.Ports = map[int]int{80: 8081}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// No container serves yet: no trial.
	if want := []string{"create shop-bbbbbbbbbbbb", "start shop-bbbbbbbbbbbb"}; !slices.Equal(f.calls, want) {
		t.Errorf("calls = %q, want %q", f.calls, want)
	}
	c := f.containers[0]
	if c.spec.Ports["80/tcp"] != 8081 || c.spec.Ports["8080/tcp"] != 8080 || c.spec.Publish != "127.0.0.1" || !c.spec.Restart {
		t.Errorf("spec = %+v, want 80→8081, 8080→8080 on 127.0.0.1, restarting", c.spec)
	}
	if c.spec.Volumes["/var/lib/redis"] != "shop-var-lib-redis" {
		t.Errorf("volumes = %v, want /var/lib/redis on shop-var-lib-redis", c.spec.Volumes)
	}
	want := []string{"127.0.0.1:8080->8080/tcp", "127.0.0.1:8081->80/tcp"}
	if !slices.Equal(res.Published, want) || res.Container != "shop-bbbbbbbbbbbb" || res.Gap != 0 {
		t.Errorf("result = %+v, want %q published by shop-bbbbbbbbbbbb, no gap (nothing served before)", res, want)
	}
}

func TestReleaseUpgrade(t *testing.T) {
	f := newFake()
	f.addImage("shop:bbbbbbbbbbbb", imgInfo("sha256:b"))
	f.addImage("shop:aaaaaaaaaaaa", imgInfo("sha256:a"))
	f.serving("shop", revA, "sha256:a")
	var log strings.Builder
	res, err := release(f, &log).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"create shop-bbbbbbbbbbbb-trial", "start shop-bbbbbbbbbbbb-trial", "remove shop-bbbbbbbbbbbb-trial",
		"create shop-bbbbbbbbbbbb", "stop shop-aaaaaaaaaaaa", "start shop-bbbbbbbbbbbb", "remove shop-aaaaaaaaaaaa",
	}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls = %q, want %q", f.calls, want)
	}
	if trial := f.containers; len(trial) != 1 || !trial[0].Running || trial[0].Rev != revB {
		t.Errorf("containers after = %+v, want only the new one, running", f.containers)
	}
	if !slices.Equal(res.Retired, []string{"shop-aaaaaaaaaaaa"}) || res.Gap <= 0 {
		t.Errorf("result = %+v, want shop-aaaaaaaaaaaa retired and a gap", res)
	}
	if !strings.Contains(log.String(), "Trying the new version") {
		t.Errorf("log lacks the trial:\n%s", log.String())
	}
}

func TestReleaseTrialFails(t *testing.T) {
	f := newFake()
	f.addImage("shop:bbbbbbbbbbbb", imgInfo("sha256:b"))
	f.addImage("shop:aaaaaaaaaaaa", imgInfo("sha256:a"))
	f.serving("shop", revA, "sha256:a")
	f.unhealthy["sha256:b"] = true
	var log strings.Builder
	_, err := release(f, &log).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "trial container") || !strings.Contains(err.Error(), "not ready: web") {
		t.Fatalf("Run() = %v, want the trial's health failure", err)
	}
	// The serving container was never touched.
	for _, c := range f.calls {
		if strings.Contains(c, "shop-aaaaaaaaaaaa") {
			t.Errorf("the serving container was touched: %q", f.calls)
		}
	}
	if len(f.containers) != 1 || !f.containers[0].Running || f.containers[0].Rev != revA {
		t.Errorf("containers after = %+v, want the old one alone, running", f.containers)
	}
	if !strings.Contains(log.String(), "| web | listening") {
		t.Errorf("the pusher was not shown the trial's output:\n%s", log.String())
	}
}

// The trial passes, but the real start cannot bind a port: the new
// container is removed and the old one started again.
func TestReleaseRollback(t *testing.T) {
	f := newFake()
	f.addImage("shop:bbbbbbbbbbbb", imgInfo("sha256:b"))
	f.addImage("shop:aaaaaaaaaaaa", imgInfo("sha256:a"))
	f.serving("shop", revA, "sha256:a")
	f.portTaken["shop:bbbbbbbbbbbb"] = true
	_, err := release(f, io.Discard).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "port is already allocated") || !strings.Contains(err.Error(), "rolled back: shop-aaaaaaaaaaaa serves again") {
		t.Fatalf("Run() = %v, want the start's error and a rollback", err)
	}
	if len(f.containers) != 1 || !f.containers[0].Running || f.containers[0].Rev != revA {
		t.Errorf("containers after = %+v, want the old one alone, running", f.containers)
	}
	if last := f.calls[len(f.calls)-1]; last != "start shop-aaaaaaaaaaaa" {
		t.Errorf("last call = %q, want the old container started again (calls %q)", last, f.calls)
	}
}

// The new container passes its trial but not the check once it has the
// real volumes: it is removed and the old one serves again.
func TestReleaseRollbackUnhealthy(t *testing.T) {
	f := newFake()
	f.addImage("shop:bbbbbbbbbbbb", imgInfo("sha256:b"))
	f.addImage("shop:aaaaaaaaaaaa", imgInfo("sha256:a"))
	f.serving("shop", revA, "sha256:a")
	e := &unhealthyServing{fakeEngine: f}
	r := release(f, io.Discard)
	r.Engine = e
	_, err := r.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "did not become healthy") || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("Run() = %v, want a health failure and a rollback", err)
	}
	if len(f.containers) != 1 || !f.containers[0].Running || f.containers[0].Rev != revA {
		t.Errorf("containers after = %+v, want the old one alone, running", f.containers)
	}
}

// unhealthyServing fails the health check of serving containers of revB.
type unhealthyServing struct{ *fakeEngine }

func (u *unhealthyServing) Exec(ctx context.Context, id string, cmd []string) (int, string, error) {
	if c := u.find(id); c.Role == roleServing && c.Rev == revB {
		return 1, "not ready: db", nil
	}
	return u.fakeEngine.Exec(ctx, id, cmd)
}

func TestReleaseUnchanged(t *testing.T) {
	f := newFake()
	f.addImage("shop:bbbbbbbbbbbb", imgInfo("sha256:b"))
	f.serving("shop", revB, "sha256:b")
	res, err := release(f, io.Discard).Run(context.Background())
	if err != nil || !res.Unchanged || len(f.calls) != 0 {
		t.Errorf("Run() = %+v, %v with calls %q, want nothing done", res, err, f.calls)
	}
}

func TestReleaseLeftovers(t *testing.T) {
	f := newFake()
	f.addImage("shop:bbbbbbbbbbbb", imgInfo("sha256:b"))
	f.addImage("shop:aaaaaaaaaaaa", imgInfo("sha256:a"))
	f.serving("shop", revA, "sha256:a")
	// A killed hook left a trial and a stopped container of revB.
	f.serving("shop", revB, "sha256:b")
	f.containers[1].Running = false
	f.containers = append(f.containers, &fakeContainer{Container{ID: "stale", Name: "shop-cccccccccccc-trial", Rev: "c", Role: roleTrial}, ContainerSpec{App: "shop"}})
	if _, err := release(f, io.Discard).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(f.containers) != 1 || f.containers[0].Rev != revB || !f.containers[0].Running {
		t.Errorf("containers after = %+v, want only the new one", f.containers)
	}
}

func TestReleasePorts(t *testing.T) {
	f := newFake()
	f.addImage("shop:bbbbbbbbbbbb", imgInfo("sha256:b"))
	r := release(f, io.Discard)
	r.Ports = map[int]int{9999: 9999}
	if _, err := r.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "exposes no port 9999 (it exposes 80/tcp, 8080/tcp)") {
		t.Errorf("Run() with a port the app lacks = %v", err)
	}
	r.Ports = map[int]int{80: 8080}
	if _, err := r.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "host port 8080") {
		t.Errorf("Run() with two ports on one host port = %v", err)
	}
	if len(f.calls) != 0 {
		t.Errorf("calls = %q, want none for bad settings", f.calls)
	}
}

func TestVolumeName(t *testing.T) {
	for in, want := range map[string]string{"/data": "shop-data", "/var/lib/postgresql": "shop-var-lib-postgresql", "/": "shop-root", "/a b/c": "shop-a-b-c"} {
		if got := volumeName("shop", in); got != want {
			t.Errorf("volumeName(shop, %q) = %q, want %q", in, got, want)
		}
	}
}
