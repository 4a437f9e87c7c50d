package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
)

// Labels on the containers a deployment makes.
const (
	LabelApp  = "org.nix-docker.deploy.app"  // the deployment's name
	LabelRev  = "org.nix-docker.deploy.rev"  // the commit the image was built from
	LabelRole = "org.nix-docker.deploy.role" // "serving" or "trial"
)

// ErrNotFound is what Engine.Image returns for an image it does not hold.
var ErrNotFound = errors.New("not found")

// Engine is the part of a container engine a deployment uses. NewEngine
// adapts the Engine API's client; tests use a fake.
type Engine interface {
	Image(ctx context.Context, ref string) (ImageInfo, error)
	Tag(ctx context.Context, source, target string) error
	Untag(ctx context.Context, ref string) error
	Containers(ctx context.Context, app string) ([]Container, error)
	Create(ctx context.Context, spec ContainerSpec) (id string, err error)
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string) error
	Remove(ctx context.Context, id string) error
	State(ctx context.Context, id string) (running bool, exitCode int, err error)
	Exec(ctx context.Context, id string, cmd []string) (exitCode int, output string, err error)
	Logs(ctx context.Context, id string, lines int) (string, error)
}

// ImageInfo is what a deployment needs to know about an image.
type ImageInfo struct {
	ID      string
	Ports   []string // exposed ports, "8080/tcp", sorted
	Volumes []string // volume paths, sorted
	Health  []string // the command that exits 0 when the container is healthy
}

// Container is one of a deployment's containers.
type Container struct {
	ID, Name  string
	Image     string // the image's ID
	Rev, Role string
	Running   bool
}

// ContainerSpec describes a container to create.
type ContainerSpec struct {
	Name, Image    string
	App, Rev, Role string
	Env            []string
	Publish        string            // host address for Ports
	Ports          map[string]int    // container port ("8080/tcp") → host port
	Volumes        map[string]string // path in the container → named volume
	Restart        bool              // restart unless stopped (the serving container)
}

type engine struct{ c *client.Client }

// NewEngine adapts an Engine API client.
func NewEngine(c *client.Client) Engine { return engine{c} }

func (e engine) Image(ctx context.Context, ref string) (ImageInfo, error) {
	img, err := e.c.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return ImageInfo{}, fmt.Errorf("image %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return ImageInfo{}, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	info := ImageInfo{ID: img.ID}
	if img.Config == nil {
		return info, nil
	}
	for p := range img.Config.ExposedPorts {
		info.Ports = append(info.Ports, string(p))
	}
	for v := range img.Config.Volumes {
		info.Volumes = append(info.Volumes, v)
	}
	sort.Strings(info.Ports)
	sort.Strings(info.Volumes)
	info.Health = healthCommand(img.Config.Healthcheck, img.Config.Entrypoint)
	return info, nil
}

// healthCommand is the image's HEALTHCHECK command, or else the init's
// `ctl health` (a nix-docker image's entrypoint is the init).
func healthCommand(h *container.HealthConfig, entrypoint []string) []string {
	if h != nil && len(h.Test) > 1 {
		switch h.Test[0] {
		case "CMD":
			return h.Test[1:]
		case "CMD-SHELL":
			return []string{"/bin/sh", "-c", h.Test[1]}
		}
	}
	if len(entrypoint) > 0 {
		return []string{entrypoint[0], "ctl", "health"}
	}
	return nil
}

func (e engine) Tag(ctx context.Context, source, target string) error {
	return e.c.ImageTag(ctx, source, target)
}

func (e engine) Untag(ctx context.Context, ref string) error {
	_, err := e.c.ImageRemove(ctx, ref, image.RemoveOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	return err
}

func (e engine) Containers(ctx context.Context, app string) ([]Container, error) {
	list, err := e.c.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelApp+"="+app))})
	if err != nil {
		return nil, fmt.Errorf("listing %s's containers: %w", app, err)
	}
	var out []Container
	for _, c := range list {
		name := c.ID
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, Container{ID: c.ID, Name: name, Image: c.ImageID, Rev: c.Labels[LabelRev], Role: c.Labels[LabelRole], Running: c.State == container.StateRunning})
	}
	return out, nil
}

func (e engine) Create(ctx context.Context, s ContainerSpec) (string, error) {
	cfg := &container.Config{
		Image:  s.Image,
		Env:    s.Env,
		Labels: map[string]string{LabelApp: s.App, LabelRev: s.Rev, LabelRole: s.Role},
	}
	host := &container.HostConfig{}
	if s.Restart {
		host.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}
	}
	if len(s.Ports) > 0 {
		host.PortBindings = nat.PortMap{}
		for p, hp := range s.Ports {
			host.PortBindings[nat.Port(p)] = []nat.PortBinding{{HostIP: s.Publish, HostPort: strconv.Itoa(hp)}}
		}
	}
	for path, vol := range s.Volumes {
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeVolume, Source: vol, Target: path})
	}
	sort.Slice(host.Mounts, func(i, j int) bool { return host.Mounts[i].Target < host.Mounts[j].Target })
	resp, err := e.c.ContainerCreate(ctx, cfg, host, nil, nil, s.Name)
	if err != nil {
		return "", fmt.Errorf("creating container %s: %w", s.Name, err)
	}
	return resp.ID, nil
}

func (e engine) Start(ctx context.Context, id string) error {
	return e.c.ContainerStart(ctx, id, container.StartOptions{})
}

func (e engine) Stop(ctx context.Context, id string) error {
	return e.c.ContainerStop(ctx, id, container.StopOptions{})
}

func (e engine) Remove(ctx context.Context, id string) error {
	err := e.c.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	return err
}

func (e engine) State(ctx context.Context, id string) (bool, int, error) {
	c, err := e.c.ContainerInspect(ctx, id)
	if err != nil {
		return false, 0, err
	}
	if c.State == nil {
		return false, 0, fmt.Errorf("container %s has no state", id)
	}
	return c.State.Running, c.State.ExitCode, nil
}

func (e engine) Exec(ctx context.Context, id string, cmd []string) (int, string, error) {
	ex, err := e.c.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return 0, "", err
	}
	att, err := e.c.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return 0, "", err
	}
	var out bytes.Buffer
	_, err = stdcopy.StdCopy(&out, &out, att.Reader)
	att.Close()
	if err != nil {
		return 0, out.String(), err
	}
	// The stream ends when the command exits; the engine may record the
	// exit a moment later.
	for {
		st, err := e.c.ContainerExecInspect(ctx, ex.ID)
		if err != nil {
			return 0, out.String(), err
		}
		if !st.Running {
			return st.ExitCode, out.String(), nil
		}
		select {
		case <-ctx.Done():
			return 0, out.String(), ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (e engine) Logs(ctx context.Context, id string, lines int) (string, error) {
	r, err := e.c.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(lines)})
	if err != nil {
		return "", err
	}
	defer r.Close()
	var out bytes.Buffer
	_, err = stdcopy.StdCopy(&out, &out, r)
	return out.String(), err
}
