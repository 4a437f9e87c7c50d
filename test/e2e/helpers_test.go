package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

var (
	buildOnce  sync.Once
	binDir     string
	nixDockerB string
	buildErr   error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nix-docker-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	// Every build here runs with Nix's sandbox on, as on a default Linux
	// install, whatever this machine's nix.conf says; TestSandbox proves it
	// took. Appended, so it wins over an earlier line.
	os.Setenv("NIX_CONFIG", os.Getenv("NIX_CONFIG")+"\nsandbox = true\n")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// nixDocker returns the path of a freshly built nix-docker, alone in its
// directory: Nix builds the init from the source it carries.
func nixDocker(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		nixDockerB = testutil.BuildNixDocker(t, binDir)
	})
	if nixDockerB == "" {
		t.Fatal("building the binaries failed")
	}
	return nixDockerB
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs a command and returns its output and exit code.
func run(t *testing.T, name string, args ...string) result {
	t.Helper()
	return runIn(t, "", name, args...)
}

// runIn runs a command in dir.
func runIn(t *testing.T, dir, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return r
}

// must runs a command that has to succeed and returns its trimmed stdout.
func must(t *testing.T, name string, args ...string) string {
	t.Helper()
	r := run(t, name, args...)
	if r.code != 0 {
		t.Fatalf("%s %s: exit %d\n%s%s", name, strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

func unique(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// hostPort returns the 127.0.0.1 port Docker published for a container port.
func hostPort(t *testing.T, container, port string) string {
	t.Helper()
	out := must(t, "docker", "port", container, port)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "127.0.0.1:") {
			return strings.TrimPrefix(line, "127.0.0.1:")
		}
	}
	t.Fatalf("docker port %s %s = %q, want a 127.0.0.1 binding", container, port, out)
	return ""
}

// httpGet fetches a URL on 127.0.0.1, retrying until the deadline while the
// server is not up yet.
func httpGet(t *testing.T, url string, within time.Duration) (int, string) {
	t.Helper()
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				return resp.StatusCode, string(body)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// redisCommand sends one inline command to Redis and returns the first
// reply line.
func redisCommand(t *testing.T, addr, command string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("connecting to redis at %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\r\n", command); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("reading redis' reply to %s: %v", command, err)
	}
	return strings.TrimSpace(string(buf[:n]))
}

func repo(t *testing.T, parts ...string) string {
	return filepath.Join(append([]string{testutil.RepoRoot(t)}, parts...)...)
}
