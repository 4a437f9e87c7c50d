package docker

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/system"
)

// Store is how an engine keeps images, which decides how an image can be
// loaded into it cheaply.
type Store string

const (
	// StoreClassic is Docker's graphdriver store (overlay2, ...): it takes
	// a docker-archive that leaves out layers it holds, and its image ID
	// is the config's digest.
	StoreClassic Store = "classic"
	// StoreContainerd is Docker's containerd image store (a snapshotter;
	// the default of fresh Docker 29 installs): it refuses a partial
	// docker-archive, and its image ID is the manifest's (or index's)
	// digest, not the config's.
	StoreContainerd Store = "containerd"
	// StorePodman is containers/storage behind Podman's Docker-compatible
	// API: it refuses a partial docker-archive; its image ID is the
	// config's digest.
	StorePodman Store = "podman"
)

// Engine describes the engine nix-docker talks to.
type Engine struct {
	Product    string // "Docker" or "Podman"
	Version    string // the engine's version, such as 20.10.24
	APIVersion string // the Docker API version it serves
	Store      Store
	Driver     string // the storage driver or snapshotter, such as overlay2
	Host       string // how it is reached, such as unix:///var/run/docker.sock
	// Local tells whether the engine shares this machine's loopback
	// network, so that it can pull from a registry nix-docker serves on
	// 127.0.0.1. Remote says why not, when it does not.
	Local  bool
	Remote string
}

// IDIsConfigDigest tells whether the engine names an image by its
// config's digest (the classic store, Podman) rather than by its
// manifest's (the containerd store).
func (e Engine) IDIsConfigDigest() bool { return e.Store != StoreContainerd }

func (e Engine) String() string {
	store := map[Store]string{
		StoreClassic:    "classic image store",
		StoreContainerd: "containerd image store",
		StorePodman:     "containers/storage",
	}[e.Store]
	s := fmt.Sprintf("%s %s (%s, %s) at %s", e.Product, e.Version, store, e.Driver, e.Host)
	if !e.Local {
		s += ", remote"
	}
	return s
}

// Describer is the part of the Engine API Describe uses.
type Describer interface {
	ServerVersion(ctx context.Context) (types.Version, error)
	Info(ctx context.Context) (system.Info, error)
	DaemonHost() string
}

// snapshotterDriverType is the DriverStatus "driver-type" of Docker's
// containerd image store.
const snapshotterDriverType = "io.containerd.snapshotter.v1"

// Describe asks the engine what it is: Docker or Podman (from the
// version's components), which image store it uses (Docker's info names
// the containerd snapshotter in DriverStatus), and whether it can reach
// this machine's loopback. The two questions go at once: every build
// waits for the answers.
func Describe(ctx context.Context, c Describer) (Engine, error) {
	var v types.Version
	var verr error
	asked := make(chan struct{})
	go func() {
		defer close(asked)
		v, verr = c.ServerVersion(ctx)
	}()
	info, err := c.Info(ctx)
	<-asked
	if verr != nil {
		return Engine{}, fmt.Errorf("asking the engine for its version: %w", verr)
	}
	if err != nil {
		return Engine{}, fmt.Errorf("asking the engine about itself: %w", err)
	}
	e := Engine{Product: "Docker", Version: v.Version, APIVersion: v.APIVersion, Store: StoreClassic, Driver: info.Driver, Host: c.DaemonHost()}
	for _, comp := range v.Components {
		if strings.Contains(strings.ToLower(comp.Name), "podman") {
			e.Product, e.Version, e.Store = "Podman", comp.Version, StorePodman
		}
	}
	if e.Store == StoreClassic {
		for _, kv := range info.DriverStatus {
			if kv[0] == "driver-type" && kv[1] == snapshotterDriverType {
				e.Store = StoreContainerd
			}
		}
	}
	e.Local, e.Remote = reachesLoopback(e, info)
	return e, nil
}

// reachesLoopback decides whether the engine shares this machine's
// loopback network. Only an engine on a local socket does: one reached
// over TCP or SSH may run anywhere (even tcp://127.0.0.1 may be a tunnel),
// rootless Docker runs in a network namespace of its own, and Docker
// Desktop's engine runs in a virtual machine. A wrong "no" costs bytes (a
// full archive); a wrong "yes" costs a failed pull, which falls back.
func reachesLoopback(e Engine, info system.Info) (bool, string) {
	u, err := url.Parse(e.Host)
	if err != nil {
		return false, fmt.Sprintf("the engine's address %q does not parse", e.Host)
	}
	switch {
	case u.Scheme != "unix" && u.Scheme != "npipe":
		return false, fmt.Sprintf("reached over %s://, its 127.0.0.1 need not be this machine's", u.Scheme)
	case e.Product == "Docker" && slices.Contains(info.SecurityOptions, "name=rootless"):
		// Rootless Podman pulls in its own process, in this machine's
		// network namespace; only its containers get one of their own.
		return false, "rootless Docker has a network namespace of its own"
	case info.OperatingSystem == "Docker Desktop":
		return false, "Docker Desktop's engine runs in a virtual machine"
	}
	return true, ""
}
