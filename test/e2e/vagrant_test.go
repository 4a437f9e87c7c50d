package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// TestVagrantfile validates vagrant/Vagrantfile with the real vagrant (no
// provider can run here, so their blocks are not checked) and checks that
// it forwards exactly the ports the demo publishes and the examples
// expose.
func TestVagrantfile(t *testing.T) {
	testutil.NeedVagrant(t)
	tmp := t.TempDir()
	cmd := exec.Command("vagrant", "validate", "--ignore-provider")
	cmd.Dir = repo(t, "vagrant")
	cmd.Env = append(os.Environ(), "VAGRANT_DOTFILE_PATH="+filepath.Join(tmp, "dot"), "VAGRANT_HOME="+filepath.Join(tmp, "home"))
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "validated successfully") {
		t.Errorf("vagrant validate: %v\n%s", err, out)
	}

	vf, err := os.ReadFile(repo(t, "vagrant", "Vagrantfile"))
	if err != nil {
		t.Fatal(err)
	}
	forwarded := vagrantPorts(t, string(vf))
	for _, want := range []string{`guest: port, host: port`, `host_ip: "127.0.0.1"`, `config.vm.box = "debian/bookworm64"`, `"..", "/vagrant"`, `path: "provision.sh"`} {
		if !strings.Contains(string(vf), want) {
			t.Errorf("Vagrantfile lacks %s", want)
		}
	}

	// The demo publishes the webapp's ports on the host ports scripts/demo
	// names; every other example publishes its ports on the same numbers.
	demo := demoPorts(t)
	want := map[int]string{}
	for cport, hport := range demo {
		want[hport] = fmt.Sprintf("the demo's %d", cport)
	}
	bin := nixDocker(t)
	examples, _ := filepath.Glob(repo(t, "examples", "*", "app.hcl"))
	if len(examples) == 0 {
		t.Fatal("no examples found")
	}
	for _, file := range examples {
		name := filepath.Base(filepath.Dir(file))
		for _, p := range checkPorts(t, bin, file) {
			if _, ok := demo[p]; ok && name == "webapp" {
				continue
			}
			if _, ok := want[p]; !ok {
				want[p] = "examples/" + name
			}
		}
	}
	var wantList []int
	for p := range want {
		wantList = append(wantList, p)
	}
	slices.Sort(wantList)
	if !slices.Equal(forwarded, wantList) {
		t.Errorf("the Vagrantfile forwards %v, want %v (%v)", forwarded, wantList, want)
	}
}

// vagrantPorts reads FORWARDED_PORTS from the Vagrantfile.
func vagrantPorts(t *testing.T, vf string) []int {
	t.Helper()
	block := regexp.MustCompile(`(?s)FORWARDED_PORTS = \[(.*?)\]\.freeze`).FindStringSubmatch(vf)
	if block == nil {
		t.Fatal("the Vagrantfile has no FORWARDED_PORTS = [...].freeze")
	}
	var ports []int
	for _, m := range regexp.MustCompile(`(?m)^\s*(\d+),`).FindAllStringSubmatch(block[1], -1) {
		n, _ := strconv.Atoi(m[1])
		if slices.Contains(ports, n) {
			t.Errorf("FORWARDED_PORTS lists %d twice", n)
		}
		ports = append(ports, n)
	}
	slices.Sort(ports)
	return ports
}

// demoPorts reads scripts/demo's port mapping: container port → default
// host port.
func demoPorts(t *testing.T) map[int]int {
	t.Helper()
	b, err := os.ReadFile(repo(t, "scripts", "demo"))
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[string]int{}
	for _, m := range regexp.MustCompile(`(\w+)=\$\{\w+_PORT:-(\d+)\}`).FindAllStringSubmatch(string(b), -1) {
		defaults[m[1]], _ = strconv.Atoi(m[2])
	}
	out := map[int]int{}
	for _, m := range regexp.MustCompile(`-p "\$addr:\$(\w+):(\d+)"`).FindAllStringSubmatch(string(b), -1) {
		c, _ := strconv.Atoi(m[2])
		out[c] = defaults[m[1]]
	}
	if len(out) != 3 || out[8080] != 8080 || out[80] != 8081 || out[6379] != 6379 {
		t.Fatalf("scripts/demo publishes %v, want 8080→8080, 80→8081, 6379→6379", out)
	}
	return out
}

// checkPorts returns the ports `nix-docker check` says an app exposes.
func checkPorts(t *testing.T, bin, file string) []int {
	t.Helper()
	out := must(t, bin, "check", file)
	m := regexp.MustCompile(`(?m)^  ports: \[([\d ]+)\]$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("nix-docker check %s shows no ports:\n%s", file, out)
	}
	var ports []int
	for _, f := range strings.Fields(m[1]) {
		n, _ := strconv.Atoi(f)
		ports = append(ports, n)
	}
	return ports
}

// TestProvision runs the VM's provisioning script on this machine, as CI
// does in place of booting the VM: twice, since it must be idempotent,
// and each time it must leave the demo serving.
func TestProvision(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	testutil.NeedRoot(t)
	name := unique("nde2e-provision")
	tag := name + "/webapp"
	ports := map[string]string{"APP_PORT": freePort(t), "WEB_PORT": freePort(t), "REDIS_PORT": freePort(t)}
	t.Cleanup(func() {
		run(t, "docker", "rm", "-f", name)
		run(t, "docker", "rmi", tag)
	})
	for i := 1; i <= 2; i++ {
		cmd := exec.Command(repo(t, "vagrant", "provision.sh"))
		cmd.Env = append(os.Environ(), "DEMO_NAME="+name, "DEMO_TAG="+tag)
		for k, v := range ports {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("provision.sh, run %d: %v\n%s", i, err, out)
		}
		t.Logf("provision.sh, run %d: %.1fs", i, time.Since(start).Seconds())
		if i == 2 && strings.Contains(string(out), "installing with apt-get") {
			t.Errorf("the second run installed packages again:\n%s", out)
		}
		if code, body := httpGet(t, "http://127.0.0.1:"+ports["APP_PORT"]+"/", 30*time.Second); code != 200 || !hits.MatchString(body) {
			t.Errorf("after run %d the demo app answers %d %q", i, code, body)
		}
		if code, _ := httpGet(t, "http://127.0.0.1:"+ports["WEB_PORT"]+"/", 30*time.Second); code != 200 {
			t.Errorf("after run %d the demo's httpd answers %d", i, code)
		}
		if pong := redisCommand(t, "127.0.0.1:"+ports["REDIS_PORT"], "PING"); pong != "+PONG" {
			t.Errorf("after run %d the demo's Redis answers %q", i, pong)
		}
	}
}
