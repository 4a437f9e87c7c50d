package testutil

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Podman is a Podman API service a test started for itself: its own
// storage, run directory, containers.conf and socket, so that it touches
// neither the machine's Podman images nor its configuration.
type Podman struct {
	Dir    string // holds everything below
	Socket string
	Host   string // unix://Socket, for DOCKER_HOST
	Root   string // image and container storage (--root)
	Run    string // run state (--runroot)
	Conf   string // the containers.conf the service and CLI read
}

// podmanConf keeps Podman's state in dir (its temporary files, network
// definitions and volumes, beside the storage given by flags), and raises
// no limit Podman's defaults would set: the sandboxes these tests run in
// forbid them, so every container gets these.
const podmanConf = `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
tmp_dir = "%[1]s/tmp"
volume_path = "%[1]s/volumes"

[network]
network_config_dir = "%[1]s/networks"
`

// NeedPodman skips (or, in CI, fails) the test when podman is missing.
func NeedPodman(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		Missing(t, "podman is not installed (Debian: apt-get install podman; scripts/setup does)")
	}
}

// StartPodman starts `podman system service` on a socket of the test's
// own and stops it, and removes its storage, when the test ends.
func StartPodman(t testing.TB) *Podman {
	t.Helper()
	return startPodman(t, false)
}

// StartPodmanIsolated is StartPodman with the service in a network
// namespace of its own (unshare --net), whose loopback is not this
// machine's: an engine on a local socket that cannot reach a registry on
// this machine's 127.0.0.1, as on another machine.
func StartPodmanIsolated(t testing.TB) *Podman {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		Missing(t, "unshare (util-linux) is not installed")
	}
	return startPodman(t, true)
}

func startPodman(t testing.TB, isolated bool) *Podman {
	t.Helper()
	NeedPodman(t)
	dir, err := os.MkdirTemp("", "nix-docker-podman-")
	if err != nil {
		t.Fatal(err)
	}
	p := &Podman{Dir: dir, Socket: filepath.Join(dir, "podman.sock"), Root: filepath.Join(dir, "root"), Run: filepath.Join(dir, "run"), Conf: filepath.Join(dir, "containers.conf")}
	p.Host = "unix://" + p.Socket
	if err := os.WriteFile(p.Conf, []byte(fmt.Sprintf(podmanConf, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "service.log"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"podman"}, p.globalFlags()...)
	args = append(args, "system", "service", "--time=0", p.Host)
	if isolated {
		args = append([]string{"unshare", "--net", "--"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+p.Conf)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting podman system service: %v", err)
	}
	t.Cleanup(func() { p.stop(t, cmd, log) })
	if err := p.waitUp(30 * time.Second); err != nil {
		b, _ := os.ReadFile(log.Name())
		t.Fatalf("podman system service: %v\n%s", err, b)
	}
	return p
}

func (p *Podman) globalFlags() []string {
	return []string{"--root", p.Root, "--runroot", p.Run}
}

// waitUp polls the socket until the API answers.
func (p *Podman) waitUp(within time.Duration) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", p.Socket)
		},
	}}
	deadline := time.Now().Add(within)
	for {
		resp, err := c.Get("http://podman/_ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("ping: %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the service (its process group: the service and what it
// runs), removes the test's containers and images, and the directory.
func (p *Podman) stop(t testing.TB, cmd *exec.Cmd, log *os.File) {
	if out, err := p.Command("rm", "--all", "--force", "--time", "0").CombinedOutput(); err != nil {
		t.Logf("podman rm --all: %v\n%s", err, out)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	log.Close()
	if out, err := p.Command("rmi", "--all", "--force").CombinedOutput(); err != nil {
		t.Logf("podman rmi --all: %v\n%s", err, out)
	}
	if err := os.RemoveAll(p.Dir); err != nil {
		t.Logf("removing Podman's test directory: %v", err)
	}
}

// Command is the podman CLI on this service's storage and configuration
// (not through its socket: the CLI reads the same storage).
func (p *Podman) Command(args ...string) *exec.Cmd {
	cmd := exec.Command("podman", append(p.globalFlags(), args...)...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+p.Conf)
	return cmd
}

// Must runs the podman CLI and fails the test unless it succeeds; it
// returns the trimmed standard output.
func (p *Podman) Must(t testing.TB, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := p.Command(args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("podman %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return strings.TrimSpace(out.String())
}
