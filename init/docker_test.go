package main

// Fault and soak tests against the real Docker engine (issues 5, 10 and
// 11): a FROM-scratch image with the static init, a static busybox and one
// runspec per case, imported with the docker CLI (tests may use it; the
// product does not). They skip when Docker is missing, and fail instead
// when NIX_DOCKER_REQUIRE_INTEGRATION=1, as in CI. Their time bounds are
// functional (an event must come, a stop must end before the engine's
// 10 s); the speed budgets are bench/init.sh's.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/internal/testutil"
)

func intp(i int) *int { return &i }

// dockerSpecs are the runspecs baked into the test image as /specs/NAME.json.
var dockerSpecs = map[string]runspec.Spec{
	"zombies": {Services: []runspec.Service{{
		Name:      "forker",
		Command:   `sh -c 'i=0; while [ $i -lt 100 ]; do (sleep 0.2 &); i=$((i+1)); done; echo forked; exec sleep 1000'`,
		StartSecs: intp(0),
	}}},
	// Each run lasts longer than startlimitintervalsec, so that no service
	// is flapping and every exit is logged.
	"crashloop": func() runspec.Spec {
		var sp runspec.Spec
		for i := range 12 {
			sp.Services = append(sp.Services, runspec.Service{
				Name:        fmt.Sprintf("crash%02d", i),
				Command:     `sh -c '(sleep 0.1 &); (true &); sleep 0.6; exit 7'`,
				Autorestart: runspec.RestartAlways, StartSecs: intp(0),
				RestartSec: floatp(0.5), StartLimitIntervalSec: intp(1),
			})
		}
		return sp
	}(),
	"chain": {Services: []runspec.Service{
		{Name: "db", Command: trapTerm, StartSecs: intp(0)},
		{Name: "cache", Command: trapTerm, After: []string{"db"}, StartSecs: intp(0)},
		{Name: "app", Command: trapTerm, After: []string{"cache"}, StartSecs: intp(0)},
	}},
	"stubborn": {Services: []runspec.Service{
		{Name: "stubborn", Command: `sh -c 'trap "" TERM; sleep 1001 & sleep 1002 & echo up; wait; wait'`,
			StartSecs: intp(0), StopWaitSecs: intp(2)},
		{Name: "hup", Command: `sh -c 'trap "echo got HUP" HUP; echo up; while :; do sleep 0.1; done'`,
			StartSecs: intp(0), Signals: []string{"HUP"}},
	}},
	"backoff": {Services: []runspec.Service{
		{Name: "other", Command: "sleep 1000"},
		{Name: "crash", Command: stampExit1, Critical: true},
	}},
	// 40 failed starts: the wait between them is capped (at 1 s here, so
	// that the test takes 40 s), never overflows, and the service goes
	// FATAL.
	"backoff40": {Services: []runspec.Service{
		{Name: "crash", Command: stampExit1, Critical: true, StartRetries: intp(39), MaxBackoffSecs: intp(1)},
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
		Users:  []runspec.User{{Name: "svc", UID: 1234, GID: 1235, Home: "/home/svc", Groups: []int{1236}}},
		Groups: []runspec.Group{{Name: "svc", GID: 1235}},
		Directories: []runspec.Directory{
			{Path: "/data", User: "svc", Mode: 0o750},
			{Path: "/locked", Mode: 0},
		},
		Services: []runspec.Service{{
			Name: "who", User: "svc", Directory: "/data", Environment: map[string]string{"FOO": "bar baz"},
			Command:   `sh -c 'echo "id=$(id -u):$(id -g):$(id -G) pwd=$(pwd) home=$HOME foo=$FOO"; stat -c "%n %a %u:%g" /data /tmp /run /locked; grep SigBlk /proc/self/status; ls /proc/self/fd | tr "\n" " "; echo; echo end; exec sleep 1000'`,
			StartSecs: intp(0),
		}},
	},
	// The service user replaces a declared directory by a link to /etc;
	// at the next start the init must refuse to follow it.
	"symlink": {
		Users:  []runspec.User{{Name: "svc", UID: 1234, GID: 1235, Home: "/data"}},
		Groups: []runspec.Group{{Name: "svc", GID: 1235}},
		Directories: []runspec.Directory{
			{Path: "/data", User: "svc", Mode: 0o755},
			{Path: "/data/cache", User: "svc", Mode: 0o700},
			{Path: "/data/cache/sub", User: "svc", Mode: 0o777},
		},
		Services: []runspec.Service{{
			Name: "planter", User: "svc", StartSecs: intp(0),
			Command: `sh -c 'rm -rf /data/cache && ln -s /etc /data/cache && echo planted; exec sleep 1000'`,
		}},
	},
	// Two independent services that take 6 s to stop, and one after both.
	"slowstop": {Services: []runspec.Service{
		{Name: "db", Command: slowTerm, StartSecs: intp(0)},
		{Name: "cache", Command: slowTerm, StartSecs: intp(0)},
		{Name: "app", Command: trapTerm, After: []string{"db", "cache"}, StartSecs: intp(0)},
	}},
	"secondterm": {Services: []runspec.Service{
		{Name: "stubborn", Command: `sh -c 'trap "" TERM; echo up; while :; do sleep 0.1; done'`, StartSecs: intp(0), StopWaitSecs: intp(300)},
		{Name: "other", Command: trapTerm, StartSecs: intp(0)},
	}},
	"quit": {Services: []runspec.Service{
		{Name: "db", Command: trapTerm, StartSecs: intp(0)},
		{Name: "app", Command: trapTerm, After: []string{"db"}, StartSecs: intp(0)},
	}},
	// Soak: a service that leaves a background child each run, restarted
	// as fast as restartsec's floor allows, and never rate limited.
	"leaver": {Services: []runspec.Service{{
		Name: "leaver", Command: `sh -c 'echo >>/tmp/starts; sleep 100000 & exit 1'`,
		StartSecs: intp(0), Autorestart: runspec.RestartAlways,
		RestartSec: floatp(runspec.MinRestartSec), StartLimitBurst: intp(runspec.MaxSecs),
	}}},
	// Soak: a 0-second crash loop with the default restart options.
	"crashdefault": {Services: []runspec.Service{
		{Name: "other", Command: "sleep 1000"},
		{Name: "crash", Command: stampExit1, StartSecs: intp(0), Autorestart: runspec.RestartAlways, Critical: true},
	}},
	// Soak: 100 MB of output, 100,000 numbered lines of 1,000 bytes, once
	// the test has made /sock/go.
	"flood": {Services: []runspec.Service{{
		Name: "flood", StartSecs: intp(0),
		Command: `sh -c 'while [ ! -e /sock/go ]; do sleep 0.05; done; ` +
			`awk "BEGIN { p = sprintf(\"%990s\", \"\"); gsub(/ /, \"x\", p); for (i = 1; i <= 100000; i++) printf(\"%08d %s\\n\", i, p) }"; ` +
			`touch /sock/done; exec sleep 100000'`,
	}}},
	"kill9": {Services: []runspec.Service{
		{Name: "victim", Command: `sh -c 'sleep 100000 & exec sleep 100001'`},
	}},
}

// trapTerm says when it gets TERM and exits 0; slowTerm takes 6 s to.
// stampExit1 adds the time since boot (10 ms steps; the engine's log
// timestamps jitter more) to /tmp/starts and exits 1.
const (
	stampExit1 = `sh -c 'cut -d" " -f1 /proc/uptime >>/tmp/starts; exit 1'`
	trapTerm   = `sh -c 'trap "echo got TERM; exit 0" TERM; echo up; while :; do sleep 0.1; done'`
	slowTerm   = `sh -c 'trap "echo got TERM; sleep 6; exit 0" TERM; echo up; while :; do sleep 0.1; done'`
)

func floatp(f float64) *float64 { return &f }

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
	testutil.NeedDocker(t)
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
	add(&tar.Header{Name: "etc/", Mode: 0o755, Typeflag: tar.TypeDir}, nil)
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

// runSpec starts a container on the runspec /specs/SPEC.json, with more
// `docker run` options, and removes it when the test ends.
func runSpec(t *testing.T, spec string, options ...string) string {
	t.Helper()
	img := testImage(t)
	name := "nix-docker-init-test-" + runID + "-" + spec
	args := append(append([]string{"run", "-d", "--name", name}, options...), img, "/specs/"+spec+".json")
	docker(t, args...)
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

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// zombies lists the zombies in container c.
func zombies(t *testing.T, c string) []string {
	t.Helper()
	out := docker(t, "exec", c, "sh", "-c", `cat /proc/[0-9]*/stat 2>/dev/null | grep ") Z " || true`)
	var zs []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if pid, comm, ok := strings.Cut(l, " "); ok {
			comm, _, _ = strings.Cut(comm, " ")
			zs = append(zs, pid+" "+comm)
		}
	}
	return zs
}

// processes counts the processes in container c whose command line is
// args.
func processes(t *testing.T, c, args string) int {
	t.Helper()
	n := 0
	for _, l := range strings.Split(docker(t, "exec", c, "ps", "-o", "args"), "\n") {
		if strings.TrimSpace(l) == args {
			n++
		}
	}
	return n
}

// ctlExec runs the init's ctl in container c.
func ctlExec(t *testing.T, c string, args ...string) string {
	t.Helper()
	return docker(t, append([]string{"exec", c, "/init", "ctl"}, args...)...)
}

func TestDockerZombies(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "zombies")
	waitLog(t, c, `forker \| forked`, 20*time.Second)
	// The grandchildren sleep 0.2 s: poll until none is alive (a zombie's
	// command line is empty, so ps shows it as [sleep], not "sleep 0.2").
	waitFor(t, 20*time.Second, "the grandchildren to end", func() bool { return processes(t, c, "sleep 0.2") == 0 })
	// Then every one must be reaped: the last may have exited a moment
	// ago, so poll, with a deadline an init that never reaps cannot meet.
	deadline := time.Now().Add(10 * time.Second)
	zs := zombies(t, c)
	for len(zs) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		zs = zombies(t, c)
	}
	if len(zs) > 0 {
		t.Errorf("%d zombies 10 s after the 100 double-forked grandchildren ended, first %q", len(zs), zs[:min(len(zs), 5)])
	}
}

func TestDockerCrashLoopExitCodes(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "crashloop")
	rx := regexp.MustCompile(`init \| crash\d\d: exited \(([^,)]*)`)
	waitFor(t, 60*time.Second, "36 exits", func() bool { return len(rx.FindAllString(logs(t, c), -1)) >= 36 })
	for _, m := range rx.FindAllStringSubmatch(logs(t, c), -1) {
		if m[1] != "exit 7" {
			t.Errorf("recorded %q, want exit 7", m[1])
		}
	}
	// Once every service is stopped, no zombie may be left.
	ctlExec(t, c, "stop", "all")
	waitFor(t, 20*time.Second, "no zombies", func() bool { return len(zombies(t, c)) == 0 })
}

func TestDockerStopChain(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "chain")
	waitLog(t, c, `app \| up`, 20*time.Second)
	rss := docker(t, "exec", c, "grep", "VmRSS", "/proc/1/status")
	t.Logf("init with three services: %s", strings.TrimSpace(rss))
	docker(t, "stop", c)
	// 137 would be the engine's KILL after its 10 s.
	if code := waitExit(t, c, 20*time.Second); code != 0 {
		t.Errorf("exit code %d after docker stop, want 0", code)
	}
	out := logs(t, c)
	index := func(line string) int {
		i := strings.Index(out, line+"\n")
		if i < 0 {
			t.Fatalf("log line %q missing", line)
		}
		return i
	}
	// Each is stopped before the service it starts after gets TERM.
	for _, pair := range [][2]string{{"app", "cache"}, {"cache", "db"}} {
		if stopped, term := index("init | "+pair[0]+": stopped (exit 0)"), index(pair[1]+" | got TERM"); term < stopped {
			t.Errorf("%s got TERM before %s had stopped", pair[1], pair[0])
		}
	}
	if index("init | received TERM, stopping all services") > index("app | got TERM") || index("db | got TERM") > index("init | all services stopped, exit 0") {
		t.Errorf("the stop is not between the TERM line and the exit line")
	}
}

func TestDockerGroupKillAndControl(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "stubborn")
	waitLog(t, c, `stubborn \| up`, 20*time.Second)
	waitLog(t, c, `hup \| up`, 20*time.Second)
	if mode := strings.TrimSpace(docker(t, "exec", c, "stat", "-c", "%a", "/run/nix-docker-init.sock")); mode != "600" {
		t.Errorf("control socket mode %s, want 600", mode)
	}
	if st := ctlExec(t, c, "status"); !regexp.MustCompile(`(?m)^stubborn +RUNNING +pid \d+`).MatchString(st) {
		t.Errorf("ctl status = %q", st)
	}
	ctlExec(t, c, "health")
	docker(t, "kill", "-s", "HUP", c)
	waitLog(t, c, `hup \| got HUP`, 10*time.Second)

	begin := time.Now()
	ctlExec(t, c, "stop", "stubborn")
	if took := time.Since(begin); took < 2*time.Second {
		t.Errorf("ctl stop took %s, want at least stopwaitsecs=2s", took)
	}
	waitLog(t, c, `init \| stubborn: still running after stopwaitsecs=2, sending KILL`, 10*time.Second)
	if n := processes(t, c, "sleep 1001") + processes(t, c, "sleep 1002"); n > 0 {
		t.Errorf("%d of the service's children survived the group kill", n)
	}
	if out, err := exec.Command("docker", "exec", c, "/init", "ctl", "health").CombinedOutput(); err == nil || !strings.Contains(string(out), "not ready: stubborn") {
		t.Errorf("ctl health with stubborn stopped: %v: %s", err, out)
	}
	ctlExec(t, c, "start", "stubborn")
	waitLog(t, c, `(?s)sending KILL.*stubborn: started`, 10*time.Second)
	if out, err := exec.Command("docker", "exec", c, "/init", "ctl", "stop", "nosuch").CombinedOutput(); err == nil {
		t.Errorf("ctl stop of an unknown service succeeded: %s", out)
	}
}

func TestDockerBackoffFatalCritical(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "backoff")
	if code := waitExit(t, c, 60*time.Second); code != 1 {
		t.Errorf("exit code %d, want 1 from the critical service", code)
	}
	starts := stamps(t, c)
	if len(starts) != 4 {
		t.Fatalf("crash started %d times, want 4 (startretries=3)", len(starts))
	}
	// Each wait is the backoff (measured in 10 ms steps), and shorter than
	// the next one.
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if got := starts[i+1] - starts[i]; got < want-10*time.Millisecond || got >= 2*want {
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

// TestDockerBackoff40: 40 fast failures with startretries 39 and the
// backoff capped at 1 s: each wait is the cap (no overflow into a tight
// loop, as a shift of time.Second did from the 35th), and the critical
// service goes FATAL and ends the container.
func TestDockerBackoff40(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "backoff40")
	if code := waitExit(t, c, 180*time.Second); code != 1 {
		t.Errorf("exit code %d, want 1 from the critical service", code)
	}
	starts := stamps(t, c)
	if len(starts) != 40 {
		t.Fatalf("crash started %d times, want 40 (startretries=39)", len(starts))
	}
	for i := 1; i < len(starts); i++ {
		if got := starts[i] - starts[i-1]; got < 990*time.Millisecond {
			t.Errorf("start %d came %s after the previous one, want the 1 s cap", i+1, got)
		}
	}
	if out := logs(t, c); !strings.Contains(out, "init | crash: FATAL: gave up after 40 failed starts (exit 1 before startsecs)\n") {
		t.Errorf("no FATAL line")
	}
}

func TestDockerAutorestartMatrix(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "matrix")
	started := func(out, name string) int {
		return len(regexp.MustCompile(`(?m)^init \| `+name+`: (started|.*restarted) \(pid`).FindAllString(out, -1))
	}
	for _, code := range []int{0, 3} {
		for _, p := range []string{"unexpected", "true", "false"} {
			name := fmt.Sprintf("exit%d-%s", code, p)
			restart := p == "true" || (p == "unexpected" && code != 0)
			if restart {
				waitFor(t, 30*time.Second, name+" restarted twice", func() bool { return started(logs(t, c), name) >= 3 })
				continue
			}
			// The exit line of a run that is not restarted is final.
			waitLog(t, c, `(?m)^init \| `+name+`: exited \(exit \d, \w+\)$`, 30*time.Second)
			if n := started(logs(t, c), name); n != 1 {
				t.Errorf("%s started %d times, want 1", name, n)
			}
		}
	}
	waitLog(t, c, `init \| early: FATAL`, 30*time.Second)
	if n := started(logs(t, c), "early"); n != 2 {
		t.Errorf("early started %d times, want 2 (a failed start is retried startretries=1 times)", n)
	}
}

func TestDockerLatePort(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "lateport")
	waitLog(t, c, `init \| app: started`, 30*time.Second)
	db := stamped(t, c, `^init \| db: started`)
	ready := stamped(t, c, `^init \| db: ready`)
	app := stamped(t, c, `^init \| app: started`)
	if len(db) != 1 || len(ready) != 1 || len(app) != 1 {
		t.Fatalf("db started %v, ready %v, app started %v; want one each", db, ready, app)
	}
	// The engine's timestamps jitter: half a second of slack.
	if d := app[0].Sub(db[0]); d < 2500*time.Millisecond {
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
			if code := waitExit(t, c, 30*time.Second); code != want {
				t.Errorf("exit code %d, want %d", code, want)
			}
		})
	}
}

func TestDockerStopDuringReadinessWait(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "readywait")
	waitLog(t, c, `init \| app: waiting for db`, 20*time.Second)
	docker(t, "stop", c)
	if code := waitExit(t, c, 20*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0 (137: the engine KILLed it)", code)
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
	waitLog(t, c, `(?m)^who \| end$`, 20*time.Second)
	out := logs(t, c)
	for _, want := range []string{
		"who | id=1234:1235:1235 1236 pwd=/data home=/home/svc foo=bar baz",
		"who | /data 750 1234:1235",
		"who | /tmp 1777 0:0",
		"who | /run 755 0:0",
		"who | /locked 0 0:0", // mode 0000 exactly
		"who | SigBlk:\t0000000000000000",
		"who | 0 1 2 3 ", // 3 is ls's own directory
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestDockerSymlinkPlanted: a service user replaces a declared directory
// by a link to /etc; at the next start the init refuses to follow it,
// says why and exits 1, and /etc keeps its mode and owner.
func TestDockerSymlinkPlanted(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "symlink")
	waitLog(t, c, `planter \| planted`, 20*time.Second)
	docker(t, "restart", c)
	if code := waitExit(t, c, 30*time.Second); code != 1 {
		t.Errorf("exit code %d after a restart with a planted link, want 1", code)
	}
	waitLog(t, c, `init \| error: setting up the file system: directory /data/cache: /data/cache is a symbolic link \(to /etc\); the init does not follow links when it makes directories`, 10*time.Second)
	tr := tar.NewReader(bytes.NewReader([]byte(docker(t, "cp", c+":/etc", "-"))))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		switch strings.TrimSuffix(h.Name, "/") {
		case "etc":
			if h.Mode&0o7777 != 0o755 || h.Uid != 0 {
				t.Errorf("/etc is now %o owned by %d, want 755 owned by root", h.Mode&0o7777, h.Uid)
			}
		case "etc/sub":
			t.Errorf("the init made /etc/sub through the link")
		}
	}
}

// TestDockerStopParallel: two independent services that take 6 s each to
// stop stop together (each gets TERM before the other has stopped), after
// the service that starts after both, so the whole stop fits in the
// engine's 10 s (about 6 s, not 12).
func TestDockerStopParallel(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "slowstop")
	waitLog(t, c, `app \| up`, 20*time.Second)
	docker(t, "stop", c)
	if code := waitExit(t, c, 30*time.Second); code != 0 {
		t.Errorf("exit code %d after docker stop, want 0 (137: the engine KILLed it)", code)
	}
	out := logs(t, c)
	for _, want := range []string{"init | db: stopped (exit 0)", "init | cache: stopped (exit 0)", "init | app: stopped (exit 0)"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(out, "sending KILL") {
		t.Errorf("a service was KILLed")
	}
	// Together, not in turn: each got TERM before the other had stopped
	// (in turn, 12 s, the engine would KILL at 10 s: the exit code above).
	for _, pair := range [][2]string{{"db", "cache"}, {"cache", "db"}} {
		term, stopped := strings.Index(out, "init | stopping "+pair[0]+"\n"), strings.Index(out, "init | "+pair[1]+": stopped (exit 0)\n")
		if term < 0 || stopped < 0 || term > stopped {
			t.Errorf("%s got TERM (log offset %d) after %s had stopped (%d), want both stopping at once:\n%s", pair[0], term, pair[1], stopped, out)
		}
	}
	for _, dep := range []string{"db", "cache"} {
		if stopped, term := strings.Index(out, "init | app: stopped (exit 0)\n"), strings.Index(out, "init | stopping "+dep+"\n"); stopped > term {
			t.Errorf("%s got TERM before app, which starts after it, had stopped:\n%s", dep, out)
		}
	}
}

// TestDockerSecondTerm: a second TERM during a stop KILLs every group.
func TestDockerSecondTerm(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "secondterm")
	waitLog(t, c, `stubborn \| up`, 20*time.Second)
	waitLog(t, c, `other \| up`, 20*time.Second)
	docker(t, "kill", "-s", "TERM", c)
	waitLog(t, c, `init \| stopping stubborn`, 20*time.Second)
	docker(t, "kill", "-s", "TERM", c)
	// stopwaitsecs is 300: only the KILL ends it this soon.
	if code := waitExit(t, c, 60*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	out := logs(t, c)
	for _, want := range []string{
		"init | received TERM again, sending KILL to every service",
		"init | stubborn: stopped (signal KILL)",
		"init | all services stopped, exit 0",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestDockerQuit: QUIT stops the container like TERM, without the Go
// runtime's stack dump.
func TestDockerQuit(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "quit")
	waitLog(t, c, `app \| up`, 20*time.Second)
	docker(t, "kill", "-s", "QUIT", c)
	if code := waitExit(t, c, 30*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	out := logs(t, c)
	for _, want := range []string{"init | received QUIT, stopping all services", "init | app: stopped (exit 0)", "init | all services stopped, exit 0"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, dump := range []string{"goroutine ", "SIGQUIT: quit", "runtime."} {
		if strings.Contains(out, dump) {
			t.Errorf("the log has %q: a stack dump", dump)
		}
	}
}

// stamps reads the times stampExit1 wrote in container c, which may have
// exited.
func stamps(t *testing.T, c string) []time.Duration {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader([]byte(docker(t, "cp", c+":/tmp/starts", "-"))))
	if _, err := tr.Next(); err != nil {
		t.Fatalf("/tmp/starts: %v", err)
	}
	b, _ := io.ReadAll(tr)
	var at []time.Duration
	for _, f := range strings.Fields(string(b)) {
		d, err := time.ParseDuration(f + "s")
		if err != nil {
			t.Fatalf("/tmp/starts: %v", err)
		}
		at = append(at, d)
	}
	return at
}

// initUsage returns the init's open descriptors and VmRSS in kB. The
// descriptors are the fewest of five looks: while it forks a process the
// init holds both ends of three pipes for a moment.
func initUsage(t *testing.T, c string) (fds, rssKB int) {
	t.Helper()
	// ls may find a descriptor gone by the time it reads it (the init
	// closes pipes as services restart): that one is not counted.
	fds = -1
	for range 5 {
		f := strings.Fields(docker(t, "exec", c, "sh", "-c", `ls /proc/1/fd 2>/dev/null | wc -l; grep VmRSS /proc/1/status`))
		if len(f) != 4 {
			t.Fatalf("init usage: %q", f)
		}
		n, _ := strconv.Atoi(f[0])
		if fds < 0 || n < fds {
			fds = n
		}
		rssKB, _ = strconv.Atoi(f[2])
	}
	return fds, rssKB
}

// starts counts the lines of /tmp/starts in container c.
func starts(t *testing.T, c string) int {
	t.Helper()
	n, _ := strconv.Atoi(strings.TrimSpace(docker(t, "exec", c, "sh", "-c", "cat /tmp/starts 2>/dev/null | wc -l")))
	return n
}

// TestDockerSoakRestarts: 1,000 restarts of a service that leaves a
// background child each run. The init's descriptors and memory stay
// flat, and no child outlives its run.
func TestDockerSoakRestarts(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "leaver")
	waitFor(t, 60*time.Second, "20 starts", func() bool { return starts(t, c) >= 20 })
	fds0, rss0 := initUsage(t, c)
	n0 := starts(t, c)
	waitFor(t, 600*time.Second, "1,000 restarts", func() bool { return starts(t, c) >= n0+1000 })
	fds1, rss1 := initUsage(t, c)
	t.Logf("after %d restarts: descriptors %d -> %d, VmRSS %d -> %d kB", starts(t, c)-n0, fds0, fds1, rss0, rss1)
	if fds1 > fds0+4 {
		t.Errorf("descriptors %d after 1,000 restarts, %d before", fds1, fds0)
	}
	if rss1 > rss0+3072 {
		t.Errorf("VmRSS %d kB after 1,000 restarts, %d kB before", rss1, rss0)
	}
	// One run's child at most: the current one's.
	if n := processes(t, c, "sleep 100000"); n > 2 {
		t.Errorf("%d children of the service alive, want at most the current run's", n)
	}
	ctlExec(t, c, "stop", "leaver")
	if n := processes(t, c, "sleep 100000"); n > 0 {
		t.Errorf("%d children of the service alive after its stop", n)
	}
}

// TestDockerSoakCrashLoop: a 0-second crash loop with the default restart
// options restarts at most 10 times a second (restartsec 0.1 s), goes
// FATAL after 5 restarts (startlimitburst), and as a critical service ends
// the container; a handful of log lines, one per state change.
func TestDockerSoakCrashLoop(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "crashdefault")
	if code := waitExit(t, c, 60*time.Second); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	at := stamps(t, c)
	if len(at) != 6 {
		t.Fatalf("%d starts, want 6: one and 5 restarts", len(at))
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i] - at[i-1]; gap < 90*time.Millisecond {
			t.Errorf("restart %d came %s after the previous start, want restartsec 0.1s (in 10 ms steps)", i, gap)
		}
	}
	if rate := 5 / (at[5] - at[0]).Seconds(); rate > 10.3 {
		t.Errorf("%.1f restarts a second, want at most 10", rate)
	}
	if fatal := logs(t, c); !strings.Contains(fatal, "init | crash: FATAL: exited (exit 1, unexpected) after 5 restarts within 10s") {
		t.Errorf("no FATAL line")
	}
	if n := len(stamped(t, c, `^init \| crash: `)); n > 5 {
		t.Errorf("%d log lines about crash, want at most 5", n)
	}
}

// ctlStatus asks the init for its status over the socket at path, as
// `ctl status` does.
func ctlStatus(path string) (string, error) {
	conn, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(`{"op":"status"}` + "\n")); err != nil {
		return "", err
	}
	var rep ctlReply
	if err := json.NewDecoder(conn).Decode(&rep); err != nil {
		return "", err
	}
	return rep.Output, nil
}

// TestDockerSoakFlood: while a service writes 100 MB as fast as it can,
// `ctl status` answers (asked from here over a socket in a mounted
// directory, so no `docker exec` is timed), and every line arrives whole.
// The 50 ms budget is bench/init.sh's; here each answer must come.
func TestDockerSoakFlood(t *testing.T) {
	t.Parallel()
	testutil.NeedRoot(t) // the init's socket is root-only; CI runs as root
	dir := t.TempDir()
	c := runSpec(t, "flood", "-v", dir+":/sock", "-e", "NIX_DOCKER_INIT_SOCKET=/sock/ctl.sock")
	sock := filepath.Join(dir, "ctl.sock")
	waitFor(t, 30*time.Second, "the control socket", func() bool { _, err := ctlStatus(sock); return err == nil })
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var lat []time.Duration
	deadline := time.Now().Add(300 * time.Second)
	for {
		begin := time.Now()
		out, err := ctlStatus(sock)
		if err != nil {
			t.Fatalf("ctl status during the flood: %v", err)
		}
		lat = append(lat, time.Since(begin))
		if !strings.Contains(out, "flood") {
			t.Fatalf("ctl status = %q", out)
		}
		if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the flood has not ended after 300 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	slices.Sort(lat)
	t.Logf("%d ctl status answers during the flood: median %s, max %s", len(lat), lat[len(lat)/2], lat[len(lat)-1])
	waitFor(t, 120*time.Second, "the last line in the engine's log", func() bool {
		return strings.Contains(docker(t, "logs", "--tail", "3", c), "flood | 00100000 ")
	})
	cmd := exec.Command("docker", "logs", c)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	pad := strings.Repeat("x", 990)
	next, bad := 1, 0
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "flood | ") {
			continue
		}
		if want := fmt.Sprintf("flood | %08d %s", next, pad); l != want {
			if bad++; bad <= 3 {
				t.Errorf("line %d = %.40q..., want %.40q...", next, l, want)
			}
		}
		next++
	}
	cmd.Wait()
	if next-1 != 100000 {
		t.Errorf("%d flood lines in the engine's log, want 100000", next-1)
	}
}

// TestDockerKillGroup: an outside kill -9 of a service's whole process
// group is noticed: the service is restarted (a signal is an unexpected
// exit) and that is one log line.
func TestDockerKillGroup(t *testing.T) {
	t.Parallel()
	c := runSpec(t, "kill9")
	waitLog(t, c, `init \| victim: ready`, 20*time.Second)
	m := regexp.MustCompile(`(?m)^victim +RUNNING +pid (\d+)`).FindStringSubmatch(ctlExec(t, c, "status"))
	if m == nil {
		t.Fatal("victim is not RUNNING")
	}
	docker(t, "exec", c, "kill", "-s", "KILL", "-"+m[1])
	waitLog(t, c, `init \| victim: exited \(signal KILL, unexpected\), restarted \(pid \d+\)`, 20*time.Second)
	waitFor(t, 20*time.Second, "victim RUNNING again", func() bool {
		n := regexp.MustCompile(`(?m)^victim +RUNNING +pid (\d+)`).FindStringSubmatch(ctlExec(t, c, "status"))
		return n != nil && n[1] != m[1]
	})
	var after []string
	seen := false
	for _, l := range strings.Split(logs(t, c), "\n") {
		if seen && strings.HasPrefix(l, "init | ") {
			after = append(after, l)
		}
		seen = seen || strings.HasPrefix(l, "init | victim: ready")
	}
	if len(after) != 1 {
		t.Errorf("init lines after the kill: %q, want one", after)
	}
}
