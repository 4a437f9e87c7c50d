package main

// Fault tests against the real Docker engine (issue 5 item 6): a
// FROM-scratch image with the static init, a static busybox and one
// runspec per case, imported with the docker CLI (tests may use it; the
// product does not). They skip when Docker is missing, and fail instead
// when NIX_DOCKER_REQUIRE_INTEGRATION=1, as in CI.

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/runspec"
)

func intp(i int) *int { return &i }

// dockerSpecs are the runspecs baked into the test image as /specs/NAME.json.
var dockerSpecs = map[string]runspec.Spec{
	"zombies": {Services: []runspec.Service{{
		Name:      "forker",
		Command:   `sh -c 'i=0; while [ $i -lt 100 ]; do (sleep 0.2 &); i=$((i+1)); done; echo forked; exec sleep 1000'`,
		StartSecs: intp(0),
	}}},
	"crashloop": func() runspec.Spec {
		var sp runspec.Spec
		for i := range 12 {
			sp.Services = append(sp.Services, runspec.Service{
				Name:        fmt.Sprintf("crash%02d", i),
				Command:     `sh -c '(sleep 0.1 &); (true &); sleep 0.3; exit 7'`,
				Autorestart: runspec.RestartAlways, StartSecs: intp(0),
			})
		}
		return sp
	}(),
	"chain": {Services: []runspec.Service{
		{Name: "db", Command: "sleep 1000", StartSecs: intp(0)},
		{Name: "cache", Command: "sleep 1000", After: []string{"db"}, StartSecs: intp(0)},
		{Name: "app", Command: "sleep 1000", After: []string{"cache"}, StartSecs: intp(0)},
	}},
	"stubborn": {Services: []runspec.Service{
		{Name: "stubborn", Command: `sh -c 'trap "" TERM; sleep 1001 & sleep 1002 & echo up; wait; wait'`,
			StartSecs: intp(0), StopWaitSecs: intp(2)},
		{Name: "hup", Command: `sh -c 'trap "echo got HUP" HUP; while :; do sleep 0.1; done'`,
			StartSecs: intp(0), Signals: []string{"HUP"}},
	}},
	"backoff": {Services: []runspec.Service{
		{Name: "other", Command: "sleep 1000"},
		{Name: "crash", Command: `sh -c 'exit 1'`, Critical: true},
	}},
	"matrix": func() runspec.Spec {
		var sp runspec.Spec
		for _, code := range []int{0, 3} {
			for _, p := range []string{"unexpected", "true", "false"} {
				sp.Services = append(sp.Services, runspec.Service{
					Name:    fmt.Sprintf("exit%d-%s", code, p),
					Command: fmt.Sprintf(`sh -c 'sleep 0.5; exit %d'`, code), Autorestart: p, StartSecs: intp(0),
				})
			}
		}
		sp.Services = append(sp.Services, runspec.Service{
			Name: "early", Command: "true", Autorestart: "false", StartSecs: intp(1), StartRetries: intp(1),
		})
		return sp
	}(),
	"lateport": {Services: []runspec.Service{
		{Name: "db", Command: `sh -c 'sleep 3; exec nc -ll -p 7000 -e true'`, Ready: &runspec.Ready{TCP: 7000, Timeout: 20}},
		{Name: "app", Command: "sleep 1000", After: []string{"db"}},
	}},
	"exit42": {Services: []runspec.Service{
		{Name: "other", Command: "sleep 1000"},
		{Name: "c", Command: `sh -c 'sleep 0.5; exit 42'`, Critical: true, Autorestart: "false", StartSecs: intp(0)},
	}},
	"segv": {Services: []runspec.Service{
		{Name: "other", Command: "sleep 1000"},
		{Name: "c", Command: `sh -c 'sleep 0.5; kill -SEGV $$'`, Critical: true, Autorestart: "false", StartSecs: intp(0)},
	}},
	"readywait": {Services: []runspec.Service{
		{Name: "db", Command: "sleep 1000", Ready: &runspec.Ready{TCP: 7001, Timeout: 60}},
		{Name: "app", Command: "sleep 1000", After: []string{"db"}},
	}},
	"user": {
		Users:       []runspec.User{{Name: "svc", UID: 1234, GID: 1235, Home: "/home/svc", Groups: []int{1236}}},
		Groups:      []runspec.Group{{Name: "svc", GID: 1235}},
		Directories: []runspec.Directory{{Path: "/data", User: "svc", Mode: 0o750}},
		Services: []runspec.Service{{
			Name: "who", User: "svc", Directory: "/data", Environment: map[string]string{"FOO": "bar baz"},
			Command:   `sh -c 'echo "id=$(id -u):$(id -g):$(id -G) pwd=$(pwd) home=$HOME foo=$FOO"; stat -c "%n %a %u:%g" /data /tmp /run; grep SigBlk /proc/self/status; ls /proc/self/fd | tr "\n" " "; echo; exec sleep 1000'`,
			StartSecs: intp(0),
		}},
	},
}

// needDocker skips the test when no Docker engine answers, or fails it when
// NIX_DOCKER_REQUIRE_INTEGRATION=1.
func needDocker(t *testing.T) {
	t.Helper()
	if testing.Short() && os.Getenv("NIX_DOCKER_REQUIRE_INTEGRATION") != "1" {
		t.Skip("docker tests skipped in -short mode")
	}
	out, err := exec.Command("docker", "version", "--format", "{{.Server.APIVersion}}").CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("no Docker engine: %v: %s", err, bytes.TrimSpace(out))
		if os.Getenv("NIX_DOCKER_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg + " (NIX_DOCKER_REQUIRE_INTEGRATION=1)")
		}
		t.Skip(msg)
	}
}

var (
	imageOnce sync.Once
	imageName string
	imageErr  error
	runID     = randomID()
)

func randomID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// testImage builds and imports the test image once per test binary.
func testImage(t *testing.T) string {
	t.Helper()
	needDocker(t)
	imageOnce.Do(func() { imageName, imageErr = buildTestImage() })
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return imageName
}

func TestMain(m *testing.M) {
	code := m.Run()
	if imageName != "" {
		exec.Command("docker", "rmi", "-f", imageName).Run()
	}
	os.Exit(code)
}

func buildTestImage() (string, error) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return "", fmt.Errorf("a static busybox is needed (busybox-static): %w", err)
	}
	dir, err := os.MkdirTemp("", "nix-docker-init-image")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	initBin := filepath.Join(dir, "init")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", initBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the init: %v: %s", err, out)
	}
	applets, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return "", fmt.Errorf("busybox --list: %w", err)
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(hdr *tar.Header, body []byte) {
		hdr.Size = int64(len(body))
		hdr.ModTime = time.Unix(0, 0)
		tw.WriteHeader(hdr)
		tw.Write(body)
	}
	file := func(name string, mode int64, body []byte) {
		add(&tar.Header{Name: name, Mode: mode, Typeflag: tar.TypeReg}, body)
	}
	add(&tar.Header{Name: "bin/", Mode: 0o755, Typeflag: tar.TypeDir}, nil)
	add(&tar.Header{Name: "specs/", Mode: 0o755, Typeflag: tar.TypeDir}, nil)
	b, err := os.ReadFile(initBin)
	if err != nil {
		return "", err
	}
	file("init", 0o755, b)
	if b, err = os.ReadFile(busybox); err != nil {
		return "", err
	}
	file("bin/busybox", 0o755, b)
	for _, a := range strings.Fields(string(applets)) {
		if a != "busybox" {
			add(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil)
		}
	}
	for name, sp := range dockerSpecs {
		sp.Version = runspec.Version
		b, err := json.Marshal(sp)
		if err != nil {
			return "", err
		}
		file("specs/"+name+".json", 0o644, b)
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	name := "nix-docker-init-test:" + runID
	imp := exec.Command("docker", "import",
		"--change", `ENTRYPOINT ["/init"]`,
		"--change", "ENV PATH=/bin",
		"-", name)
	imp.Stdin = &buf
	if out, err := imp.CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker import: %v: %s", err, out)
	}
	return name, nil
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// runSpec starts a container on the runspec /specs/SPEC.json and removes
// it when the test ends.
func runSpec(t *testing.T, spec string) string {
	t.Helper()
	img := testImage(t)
	name := "nix-docker-init-test-" + runID + "-" + spec
	docker(t, "run", "-d", "--name", name, img, "/specs/"+spec+".json")
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", "-t", name).CombinedOutput()
			t.Logf("logs of %s:\n%s", name, out)
		}
		exec.Command("docker", "rm", "-f", name).Run()
	})
	return name
}

func logs(t *testing.T, c string) string { return docker(t, "logs", c) }

func waitLog(t *testing.T, c, re string, d time.Duration) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(d)
	for !rx.MatchString(logs(t, c)) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no log line matching %q after %s", c, re, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitExit waits for the container to end and returns its exit code.
func waitExit(t *testing.T, c string, d time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := strings.TrimSpace(docker(t, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", c))
		if status, code, _ := strings.Cut(st, " "); status == "exited" {
			n, _ := strconv.Atoi(code)
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still running after %s", c, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stamped returns the times of the log lines matching re.
func stamped(t *testing.T, c, re string) []time.Time {
	t.Helper()
	rx := regexp.MustCompile(re)
	var at []time.Time
	for _, l := range strings.Split(docker(t, "logs", "-t", c), "\n") {
		ts, text, ok := strings.Cut(l, " ")
		if !ok || !rx.MatchString(text) {
			continue
		}
		tm, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatalf("log timestamp %q: %v", ts, err)
		}
		at = append(at, tm)
	}
	return at
}

// zombieCount counts the zombies in container c that are still there half
// a second later. A crash-looping service always has a few processes that
// have just exited and are about to be reaped; a zombie nobody reaps stays.
func zombieCount(t *testing.T, c string) string {
	t.Helper()
	zombies := func() map[string]bool {
		out := docker(t, "exec", c, "sh", "-c", `cat /proc/[0-9]*/stat 2>/dev/null | grep ") Z " || true`)
		m := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l != "" {
				m[l] = true // pid, name, state, ppid, ...: the same line is the same zombie
			}
		}
		return m
	}
	before := zombies()
	if len(before) == 0 {
		return "0"
	}
	time.Sleep(500 * time.Millisecond)
	var stuck []string
	for z := range zombies() {
		if before[z] {
			stuck = append(stuck, z)
		}
	}
	if len(stuck) > 0 {
		t.Logf("zombies: %q", stuck)
	}
	return strconv.Itoa(len(stuck))
}

func TestDockerZombies(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "zombies")
	waitLog(t, c, `forker \| forked`, 20*time.Second)
	time.Sleep(time.Second)
	if n := zombieCount(t, c); n != "0" {
		t.Errorf("%s zombies after 100 double-forked grandchildren, want 0", n)
	}
}

func TestDockerCrashLoopExitCodes(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "crashloop")
	time.Sleep(4 * time.Second)
	out := logs(t, c)
	codes := regexp.MustCompile(`init \| crash\d\d: exited \(([^,)]*)`).FindAllStringSubmatch(out, -1)
	if len(codes) < 12*5 {
		t.Errorf("%d exits recorded in 4s, want at least 60", len(codes))
	}
	for _, m := range codes {
		if m[1] != "exit 7" {
			t.Errorf("recorded %q, want exit 7", m[1])
		}
	}
	if n := zombieCount(t, c); n != "0" {
		t.Errorf("%s zombies, want 0", n)
	}
}

func TestDockerStopChain(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "chain")
	waitLog(t, c, `init \| app: ready`, 10*time.Second)
	rss := docker(t, "exec", c, "grep", "VmRSS", "/proc/1/status")
	t.Logf("init with three services: %s", strings.TrimSpace(rss))
	begin := time.Now()
	docker(t, "stop", c)
	took := time.Since(begin)
	t.Logf("docker stop of a three-service chain took %s", took)
	if took > time.Second {
		t.Errorf("docker stop took %s, want under 1s", took)
	}
	if code := waitExit(t, c, 5*time.Second); code != 0 {
		t.Errorf("exit code %d after docker stop, want 0", code)
	}
	out := logs(t, c)
	last := -1
	for _, line := range []string{
		"init | received TERM, stopping all services",
		"init | stopping app", "init | app: stopped (signal TERM)",
		"init | stopping cache", "init | cache: stopped (signal TERM)",
		"init | stopping db", "init | db: stopped (signal TERM)",
		"init | all services stopped, exit 0",
	} {
		i := strings.Index(out, line+"\n")
		if i <= last {
			t.Fatalf("log line %q missing or out of order (reverse start order expected)", line)
		}
		last = i
	}
}

func TestDockerGroupKillAndControl(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "stubborn")
	waitLog(t, c, `stubborn \| up`, 10*time.Second)
	if mode := strings.TrimSpace(docker(t, "exec", c, "stat", "-c", "%a", "/run/nix-docker-init.sock")); mode != "600" {
		t.Errorf("control socket mode %s, want 600", mode)
	}
	if st := docker(t, "exec", c, "/init", "ctl", "status"); !regexp.MustCompile(`(?m)^stubborn +RUNNING +pid \d+`).MatchString(st) {
		t.Errorf("ctl status = %q", st)
	}
	docker(t, "exec", c, "/init", "ctl", "health")
	docker(t, "kill", "-s", "HUP", c)
	waitLog(t, c, `hup \| got HUP`, 5*time.Second)

	begin := time.Now()
	docker(t, "exec", c, "/init", "ctl", "stop", "stubborn")
	if took := time.Since(begin); took < 2*time.Second || took > 3500*time.Millisecond {
		t.Errorf("ctl stop took %s, want about stopwaitsecs=2s", took)
	}
	waitLog(t, c, `init \| stubborn: still running after stopwaitsecs=2, sending KILL`, time.Second)
	if ps := docker(t, "exec", c, "ps", "-o", "pid,args"); strings.Contains(ps, "sleep 100") {
		t.Errorf("the service's children survived the group kill:\n%s", ps)
	}
	if out, err := exec.Command("docker", "exec", c, "/init", "ctl", "health").CombinedOutput(); err == nil || !strings.Contains(string(out), "not ready: stubborn") {
		t.Errorf("ctl health with stubborn stopped: %v: %s", err, out)
	}
	docker(t, "exec", c, "/init", "ctl", "start", "stubborn")
	waitLog(t, c, `(?s)sending KILL.*stubborn: started`, 5*time.Second)
	if out, err := exec.Command("docker", "exec", c, "/init", "ctl", "stop", "nosuch").CombinedOutput(); err == nil {
		t.Errorf("ctl stop of an unknown service succeeded: %s", out)
	}
}

func TestDockerBackoffFatalCritical(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "backoff")
	if code := waitExit(t, c, 20*time.Second); code != 1 {
		t.Errorf("exit code %d, want 1 from the critical service", code)
	}
	starts := stamped(t, c, `^init \| crash: started`)
	if len(starts) != 4 {
		t.Fatalf("crash started %d times, want 4 (startretries=3)", len(starts))
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if got := starts[i+1].Sub(starts[i]); got < want-100*time.Millisecond || got > want+500*time.Millisecond {
			t.Errorf("backoff %d = %s, want %s", i+1, got, want)
		}
	}
	out := logs(t, c)
	for _, want := range []string{
		"init | crash: FATAL: gave up after 4 failed starts (exit 1 before startsecs)",
		"init | critical service crash failed, stopping all services",
		"init | stopping other",
		"init | exit 1",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestDockerAutorestartMatrix(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "matrix")
	time.Sleep(3500 * time.Millisecond)
	out := logs(t, c)
	for _, code := range []int{0, 3} {
		for _, p := range []string{"unexpected", "true", "false"} {
			name := fmt.Sprintf("exit%d-%s", code, p)
			restart := p == "true" || (p == "unexpected" && code != 0)
			n := strings.Count(out, "init | "+name+": started")
			if restart && n < 3 || !restart && n != 1 {
				t.Errorf("%s started %d times, want restarts: %v", name, n, restart)
			}
		}
	}
	if n := strings.Count(out, "init | early: started"); n != 2 {
		t.Errorf("early started %d times, want 2 (a failed start is retried startretries=1 times)", n)
	}
	if !strings.Contains(out, "init | early: FATAL") {
		t.Errorf("early is not FATAL")
	}
}

func TestDockerLatePort(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "lateport")
	waitLog(t, c, `init \| app: started`, 15*time.Second)
	db := stamped(t, c, `^init \| db: started`)
	ready := stamped(t, c, `^init \| db: ready`)
	app := stamped(t, c, `^init \| app: started`)
	if len(db) != 1 || len(ready) != 1 || len(app) != 1 {
		t.Fatalf("db started %v, ready %v, app started %v; want one each", db, ready, app)
	}
	if d := app[0].Sub(db[0]); d < 3*time.Second {
		t.Errorf("app started %s after db, before db's port opened at 3s", d)
	}
	if app[0].Before(ready[0]) {
		t.Errorf("app started before db was ready")
	}
}

func TestDockerCriticalExitCodes(t *testing.T) {
	t.Parallel()
	for spec, want := range map[string]int{"exit42": 42, "segv": 139} {
		t.Run(spec, func(t *testing.T) {
			t.Parallel()
			c := runSpec(t, spec)
			if code := waitExit(t, c, 10*time.Second); code != want {
				t.Errorf("exit code %d, want %d", code, want)
			}
		})
	}
}

func TestDockerStopDuringReadinessWait(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "readywait")
	waitLog(t, c, `init \| db: started`, 10*time.Second)
	time.Sleep(time.Second)
	begin := time.Now()
	docker(t, "stop", c)
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("docker stop took %s", took)
	}
	if code := waitExit(t, c, 5*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	out := logs(t, c)
	if strings.Contains(out, "app: started") {
		t.Errorf("app started although db never became ready")
	}
	if !strings.Contains(out, "init | db: stopped (signal TERM)\n") {
		t.Errorf("db was not stopped")
	}
}

func TestDockerUserDirectoryEnvironment(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "user")
	waitLog(t, c, `who \| id=`, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	out := logs(t, c)
	for _, want := range []string{
		"who | id=1234:1235:1235 1236 pwd=/data home=/home/svc foo=bar baz",
		"who | /data 750 1234:1235",
		"who | /tmp 1777 0:0",
		"who | /run 755 0:0",
		"who | SigBlk:\t0000000000000000",
		"who | 0 1 2 3 ", // 3 is ls's own directory
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("log lacks %q", want)
		}
	}
}
