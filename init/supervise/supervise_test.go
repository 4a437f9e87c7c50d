package supervise

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/init/reap"
	"github.com/nix-docker/nix-docker/internal/runspec"
)

var reaper *reap.Reaper

func TestMain(m *testing.M) {
	// The test binary stands in for PID 1: orphans re-parent to it and
	// the reaper collects them.
	if err := reap.SetSubreaper(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot become a subreaper:", err)
		os.Exit(1)
	}
	reaper = reap.Start()
	os.Exit(m.Run())
}

// logBuffer collects output and records when each line arrived.
type logBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []logLine
	start time.Time
}

type logLine struct {
	at   time.Duration
	text string
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	for _, l := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		b.lines = append(b.lines, logLine{time.Since(b.start), l})
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// find returns the arrival times of the lines that match re.
func (b *logBuffer) find(re string) []time.Duration {
	rx := regexp.MustCompile(re)
	b.mu.Lock()
	defer b.mu.Unlock()
	var at []time.Duration
	for _, l := range b.lines {
		if rx.MatchString(l.text) {
			at = append(at, l.at)
		}
	}
	return at
}

// index returns the position of the first line that matches re, or -1.
func (b *logBuffer) index(re string) int {
	rx := regexp.MustCompile(re)
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, l := range b.lines {
		if rx.MatchString(l.text) {
			return i
		}
	}
	return -1
}

type harness struct {
	sup      *Supervisor
	out, err *logBuffer
}

func intp(i int) *int    { return &i }
func boolp(b bool) *bool { return &b }

// start runs services under a new Supervisor and stops them when the test
// ends.
func start(t *testing.T, sp *runspec.Spec) *harness {
	t.Helper()
	sp.Version = runspec.Version
	if err := sp.Validate(); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	h := &harness{out: &logBuffer{start: now}, err: &logBuffer{start: now}}
	sup, err := New(sp, Options{Reaper: reaper, Stdout: NewOutput(h.out), Stderr: NewOutput(h.err)})
	if err != nil {
		t.Fatal(err)
	}
	h.sup = sup
	sup.Start()
	t.Cleanup(func() {
		sup.StopAll()
		sup.Drain(time.Second)
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", h.out, h.err)
		}
	})
	return h
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) waitState(t *testing.T, d time.Duration, name string, want State) {
	t.Helper()
	waitFor(t, d, name+" "+string(want), func() bool { return h.sup.Status()[name] == want })
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func need(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is missing", p)
		}
	}
}

func TestReadinessOrder(t *testing.T) {
	t.Parallel()
	need(t, "/bin/busybox")
	port := freePort(t)
	h := start(t, &runspec.Spec{Services: []runspec.Service{
		{Name: "db", Command: fmt.Sprintf("/bin/sh -c 'sleep 1.5; exec /bin/busybox nc -ll -p %d -e /bin/true'", port),
			Ready: &runspec.Ready{TCP: port, Timeout: 10}},
		{Name: "app", Command: "sleep 100", After: []string{"db"}, StartSecs: intp(0)},
		{Name: "web", Command: "sleep 100", After: []string{"app"}, StartSecs: intp(0)},
	}})
	h.waitState(t, 10*time.Second, "web", Running)
	dbReady := h.find(`^init \| db: ready$`)
	appStart := h.out.find(`^init \| app: started`)
	if len(dbReady) != 1 || len(appStart) != 1 {
		t.Fatalf("db ready at %v, app started at %v; want one each", dbReady, appStart)
	}
	if dbReady[0] < 1400*time.Millisecond {
		t.Errorf("db ready at %s, before its port opened at 1.5s", dbReady[0])
	}
	if appStart[0] < dbReady[0] {
		t.Errorf("app started at %s, before db was ready at %s", appStart[0], dbReady[0])
	}
	if h.out.index(`web: started`) < h.out.index(`app: ready`) {
		t.Errorf("web started before app was ready")
	}
}

func (h *harness) find(re string) []time.Duration { return h.out.find(re) }

func TestReadyCommand(t *testing.T) {
	t.Parallel()
	flag := filepath.Join(t.TempDir(), "up")
	h := start(t, &runspec.Spec{Services: []runspec.Service{
		{Name: "db", Command: "/bin/sh -c 'sleep 0.5; touch " + flag + "; exec sleep 100'",
			Ready: &runspec.Ready{Command: "test -f " + flag, Timeout: 10}},
		{Name: "app", Command: "sleep 100", After: []string{"db"}, StartSecs: intp(0)},
	}})
	h.waitState(t, 5*time.Second, "app", Running)
	if at := h.find(`app: started`); len(at) != 1 || at[0] < 500*time.Millisecond {
		t.Errorf("app started at %v, want once after 0.5s", at)
	}
}

func TestReadyTimeout(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	h := start(t, &runspec.Spec{Services: []runspec.Service{
		{Name: "db", Command: "sleep 100", StartRetries: intp(0), StopWaitSecs: intp(1),
			Ready: &runspec.Ready{TCP: port, Timeout: 1}},
		{Name: "app", Command: "sleep 100", After: []string{"db"}},
	}})
	h.waitState(t, 5*time.Second, "db", Fatal)
	if h.out.index(`db: not ready after 1s, stopping it`) < 0 {
		t.Errorf("no line saying db was not ready in time")
	}
	if st := h.sup.Status()["app"]; st != Waiting {
		t.Errorf("app is %s, want WAITING", st)
	}
}

// TestRestartMatrix checks supervisord's documented autorestart rules: a
// process that exits after startsecs is restarted when autorestart is
// true, or when it is unexpected and the code is not in exitcodes.
func TestRestartMatrix(t *testing.T) {
	t.Parallel()
	for _, code := range []int{0, 3} {
		for _, policy := range []string{runspec.RestartUnexpected, runspec.RestartAlways, runspec.RestartNever} {
			restart := policy == runspec.RestartAlways || (policy == runspec.RestartUnexpected && code != 0)
			t.Run(fmt.Sprintf("exit%d/%s", code, policy), func(t *testing.T) {
				t.Parallel()
				h := start(t, &runspec.Spec{Services: []runspec.Service{{
					Name: "s", Command: fmt.Sprintf("/bin/sh -c 'sleep 0.3; exit %d'", code),
					Autorestart: policy, StartSecs: intp(0),
				}}})
				time.Sleep(1200 * time.Millisecond)
				starts := len(h.find(`s: started`))
				if restart && starts < 2 {
					t.Errorf("started %d times, want restarts", starts)
				}
				if !restart {
					if starts != 1 {
						t.Errorf("started %d times, want 1", starts)
					}
					if st := h.sup.Status()["s"]; st != Exited {
						t.Errorf("state %s, want EXITED", st)
					}
				}
			})
		}
	}
	// An exit before startsecs is a failed start whatever the code and
	// policy: it is retried startretries times, then FATAL.
	t.Run("before-startsecs", func(t *testing.T) {
		t.Parallel()
		h := start(t, &runspec.Spec{Services: []runspec.Service{{
			Name: "s", Command: "/bin/true", Autorestart: runspec.RestartNever,
			StartSecs: intp(1), StartRetries: intp(1),
		}}})
		h.waitState(t, 4*time.Second, "s", Fatal)
		if n := len(h.find(`s: started`)); n != 2 {
			t.Errorf("started %d times, want 2 (startretries=1)", n)
		}
	})
}

func TestBackoffFatalCritical(t *testing.T) {
	t.Parallel()
	h := start(t, &runspec.Spec{Services: []runspec.Service{{
		Name: "crash", Command: "/bin/sh -c 'exit 1'", Critical: true,
	}}})
	var f Failure
	select {
	case f = <-h.sup.Failed():
	case <-time.After(12 * time.Second):
		t.Fatal("no critical failure after 12s")
	}
	if f != (Failure{"crash", 1}) {
		t.Errorf("Failed() = %+v, want crash with code 1", f)
	}
	starts := h.find(`crash: started`)
	if len(starts) != 4 {
		t.Fatalf("started %d times, want 4 (startretries=3)", len(starts))
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		got := starts[i+1] - starts[i]
		if got < want || got > want+400*time.Millisecond {
			t.Errorf("backoff %d = %s, want %s", i+1, got, want)
		}
	}
	if h.out.index(`crash: FATAL: gave up after 4 failed starts \(exit 1 before startsecs\)`) < 0 {
		t.Errorf("no FATAL line")
	}
}

func TestCriticalExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd  string
		code int
	}{
		{"/bin/sh -c 'sleep 0.2; exit 42'", 42},
		{"/bin/sh -c 'sleep 0.2; kill -SEGV $$'", 139},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			t.Parallel()
			h := start(t, &runspec.Spec{Services: []runspec.Service{
				{Name: "other", Command: "sleep 100"},
				{Name: "c", Command: tc.cmd, Critical: true, Autorestart: runspec.RestartNever, StartSecs: intp(0)},
			}})
			select {
			case f := <-h.sup.Failed():
				if f.Code != tc.code {
					t.Errorf("code %d, want %d", f.Code, tc.code)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no critical failure")
			}
		})
	}
}

func TestOneShot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := start(t, &runspec.Spec{Services: []runspec.Service{
		{Name: "setup", Command: "/bin/sh -c 'sleep 0.3; touch " + dir + "/done'", OneShot: true},
		{Name: "app", Command: "/bin/sh -c 'test -f " + dir + "/done && exec sleep 100'", After: []string{"setup"}, StartSecs: intp(0)},
		{Name: "bad", Command: "/bin/sh -c 'exit 5'", OneShot: true},
		{Name: "never", Command: "sleep 100", After: []string{"bad"}},
	}})
	h.waitState(t, 5*time.Second, "app", Running)
	h.waitState(t, 5*time.Second, "bad", Fatal)
	time.Sleep(300 * time.Millisecond)
	st := h.sup.Status()
	if st["setup"] != Exited || st["app"] != Running || st["never"] != Waiting {
		t.Errorf("states %v, want setup EXITED, app RUNNING, never WAITING", st)
	}
	if n := len(h.find(`bad: started`)); n != 1 {
		t.Errorf("one-shot started %d times, want 1", n)
	}
}

func TestReverseStop(t *testing.T) {
	t.Parallel()
	h := start(t, &runspec.Spec{Services: []runspec.Service{
		{Name: "a", Command: "sleep 100", StartSecs: intp(0)},
		{Name: "b", Command: "sleep 100", After: []string{"a"}, StartSecs: intp(0)},
		{Name: "c", Command: "sleep 100", After: []string{"b"}, StartSecs: intp(0)},
	}})
	h.waitState(t, 5*time.Second, "c", Running)
	begin := time.Now()
	h.sup.StopAll()
	if d := time.Since(begin); d > time.Second {
		t.Errorf("StopAll took %s", d)
	}
	var got []int
	for _, re := range []string{`stopping c$`, `c: stopped \(signal TERM\)`, `stopping b$`, `b: stopped`, `stopping a$`, `a: stopped`} {
		got = append(got, h.out.index(re))
	}
	for i := 1; i < len(got); i++ {
		if got[i-1] < 0 || got[i] <= got[i-1] {
			t.Fatalf("stop lines at %v, want increasing (c, b, a)", got)
		}
	}
	if _, err := h.sup.Control("start", "a", ""); err == nil {
		t.Errorf("start after StopAll succeeded")
	}
}

func TestGroupKillAtStopWaitSecs(t *testing.T) {
	t.Parallel()
	h := start(t, &runspec.Spec{Services: []runspec.Service{{
		Name: "stubborn", Command: `/bin/sh -c 'trap "" TERM; sleep 1000 & sleep 1000 & echo up; wait; wait'`,
		StartSecs: intp(0), StopWaitSecs: intp(1),
	}}})
	waitFor(t, 5*time.Second, "up", func() bool { return h.out.index(`stubborn \| up`) >= 0 })
	h.sup.order[0].mu.Lock()
	pgid := h.sup.order[0].pid
	h.sup.order[0].mu.Unlock()
	begin := time.Now()
	if _, err := h.sup.Control("stop", "stubborn", ""); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d < time.Second || d > 2*time.Second {
		t.Errorf("stop took %s, want about stopwaitsecs=1s", d)
	}
	if h.out.index(`stubborn: still running after stopwaitsecs=1, sending KILL`) < 0 {
		t.Errorf("no KILL line")
	}
	time.Sleep(100 * time.Millisecond)
	if err := syscall.Kill(-pgid, 0); err != syscall.ESRCH {
		t.Errorf("process group %d still exists (kill 0: %v)", pgid, err)
	}
}

// zombies lists this process's children that are zombies.
func zombies(t *testing.T) []string {
	t.Helper()
	me := strconv.Itoa(os.Getpid())
	ents, _ := os.ReadDir("/proc")
	var zs []string
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 2 && f[0] == "Z" && f[1] == me {
			zs = append(zs, e.Name())
		}
	}
	return zs
}

func TestOrphansReaped(t *testing.T) {
	// Not parallel: it counts this process's zombies.
	before := reaper.Orphans()
	h := start(t, &runspec.Spec{Services: []runspec.Service{{
		Name: "forker", Command: `/bin/sh -c 'i=0; while [ $i -lt 100 ]; do (sleep 0.1 &); i=$((i+1)); done; echo forked; exec sleep 100'`,
		StartSecs: intp(0),
	}}})
	waitFor(t, 10*time.Second, "forked", func() bool { return h.out.index(`forker \| forked`) >= 0 })
	waitFor(t, 5*time.Second, "100 orphans reaped", func() bool { return reaper.Orphans()-before >= 100 })
	time.Sleep(200 * time.Millisecond)
	if zs := zombies(t); len(zs) > 0 {
		t.Errorf("zombies left: %v", zs)
	}
}

func TestLogLines(t *testing.T) {
	t.Parallel()
	h := start(t, &runspec.Spec{Services: []runspec.Service{
		{Name: "big", Command: `/bin/sh -c 'head -c 1048576 /dev/zero | tr "\0" x; echo; printf "no newline"'`,
			OneShot: true},
		{Name: "err", Command: `/bin/sh -c 'echo to stderr >&2; printf "a\nb" >&2'`, OneShot: true},
		{Name: "chatty", Command: `/bin/sh -c 'i=0; while [ $i -lt 2000 ]; do echo "line $i of chatty output"; i=$((i+1)); done'`,
			OneShot: true},
	}})
	for _, n := range []string{"big", "err", "chatty"} {
		h.waitState(t, 10*time.Second, n, Exited)
	}
	h.sup.Drain(time.Second)
	out := h.out.String()
	valid := regexp.MustCompile(`^(init \| (big|chatty|err): |chatty \| line \d+ of chatty output$|big \| (x+|no newline)$)`)
	for i, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !valid.MatchString(l) {
			if len(l) > 80 {
				l = l[:80] + "..."
			}
			t.Errorf("stdout line %d = %q, want one prefix and one whole line", i, l)
		}
	}
	if !strings.Contains(out, "\nbig | "+strings.Repeat("x", 1<<20)+"\n") {
		t.Errorf("the 1 MiB line is not whole")
	}
	if !strings.Contains(out, "\nbig | no newline\n") {
		t.Errorf("last line without newline missing")
	}
	if n := strings.Count(out, "of chatty output\n"); n != 2000 {
		t.Errorf("%d chatty lines, want 2000", n)
	}
	if got, want := h.err.String(), "err | to stderr\nerr | a\nerr | b\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

func TestUserDirectoryEnvironment(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("needs root to change user")
	}
	dir, err := os.MkdirTemp("", "supervise-dir")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	h := start(t, &runspec.Spec{
		Users: []runspec.User{{Name: "svc", UID: 4242, GID: 4343, Home: "/home/svc", Groups: []int{4444}}},
		Services: []runspec.Service{{
			Name: "who", Command: `/bin/sh -c 'echo "$(id -u) $(id -g) $(id -G) $(pwd) $HOME $FOO"; grep -E "^Sig(Blk|Ign)" /proc/self/status; ls /proc/self/fd'`,
			User: "svc", Directory: dir, Environment: map[string]string{"FOO": "bar baz"}, OneShot: true,
		}},
	})
	h.waitState(t, 5*time.Second, "who", Exited)
	h.sup.Drain(time.Second)
	out := h.out.String()
	if want := fmt.Sprintf("who | 4242 4343 4343 4444 %s /home/svc bar baz\n", dir); !strings.Contains(out, want) {
		t.Errorf("output lacks %q", want)
	}
	if !strings.Contains(out, "who | SigBlk:\t0000000000000000\n") {
		t.Errorf("child has blocked signals")
	}
	// ls itself opens one more fd to read the directory.
	if !regexp.MustCompile(`who \| 0\nwho \| 1\nwho \| 2\nwho \| 3\n(init|$)`).MatchString(out) {
		t.Errorf("child has fds beyond 0-2")
	}
}

func TestControl(t *testing.T) {
	t.Parallel()
	h := start(t, &runspec.Spec{Services: []runspec.Service{
		{Name: "a", Command: "sleep 100", StartSecs: intp(0)},
		{Name: "b", Command: `/bin/sh -c 'trap "echo got HUP" HUP; while :; do sleep 0.05; done'`, StartSecs: intp(0), Signals: []string{"HUP"}},
	}})
	h.waitState(t, 5*time.Second, "b", Running)
	if _, err := h.sup.Control("health", "", ""); err != nil {
		t.Errorf("health: %v", err)
	}
	if _, err := h.sup.Control("stop", "a", ""); err != nil {
		t.Fatal(err)
	}
	if st := h.sup.Status()["a"]; st != Stopped {
		t.Errorf("a is %s after stop", st)
	}
	if _, err := h.sup.Control("health", "", ""); err == nil {
		t.Errorf("healthy with a stopped")
	}
	if _, err := h.sup.Control("restart", "a", ""); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, 5*time.Second, "a", Running)
	status, _ := h.sup.Control("status", "", "")
	if !regexp.MustCompile(`(?m)^a +RUNNING +pid \d+, uptime`).MatchString(status) {
		t.Errorf("status = %q", status)
	}
	h.sup.Forward(syscall.SIGHUP)
	waitFor(t, 3*time.Second, "HUP forwarded", func() bool { return h.out.index(`b \| got HUP`) >= 0 })
	if _, err := h.sup.Control("signal", "b", "HUP"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "HUP sent", func() bool { return len(h.find(`b \| got HUP`)) >= 2 })
	if _, err := h.sup.Control("stop", "nope", ""); err == nil {
		t.Errorf("stop of an unknown service succeeded")
	}
}

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"redis-server --port 6379", []string{"redis-server", "--port", "6379"}},
		{`sh -c 'echo "a b"; exit 3'`, []string{"sh", "-c", `echo "a b"; exit 3`}},
		{`a "b \"c\" \$d" e\ f ''`, []string{"a", `b "c" $d`, "e f", ""}},
		{"  x\t y  ", []string{"x", "y"}},
	} {
		got, err := SplitWords(tc.in)
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("SplitWords(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "  ", `a 'b`, `a "b`} {
		if _, err := SplitWords(bad); err == nil {
			t.Errorf("SplitWords(%q) succeeded", bad)
		}
	}
}

func TestSetup(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to chown")
	}
	root := t.TempDir()
	sp := &runspec.Spec{
		Users:       []runspec.User{{Name: "svc", UID: 1234, GID: 1235}},
		Groups:      []runspec.Group{{Name: "web", GID: 1300}},
		Directories: []runspec.Directory{{Path: "/var/lib/db", User: "svc", Mode: 0o750}, {Path: "/srv/www", User: "svc", Group: "web", Mode: 0o2775}},
	}
	if err := Setup(sp, root); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path     string
		mode     os.FileMode
		uid, gid uint32
	}{
		{"tmp", os.ModeDir | os.ModeSticky | 0o777, 0, 0},
		{"run", os.ModeDir | 0o755, 0, 0},
		{"var/lib/db", os.ModeDir | 0o750, 1234, 1235},
		{"srv/www", os.ModeDir | os.ModeSetgid | 0o775, 1234, 1300},
	} {
		fi, err := os.Stat(filepath.Join(root, tc.path))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != tc.mode || st.Uid != tc.uid || st.Gid != tc.gid {
			t.Errorf("%s: %v %d:%d, want %v %d:%d", tc.path, fi.Mode(), st.Uid, st.Gid, tc.mode, tc.uid, tc.gid)
		}
	}
	if err := Setup(&runspec.Spec{Directories: []runspec.Directory{{Path: "/x", User: "nobody"}}}, root); err == nil {
		t.Errorf("Setup with an unknown user succeeded")
	}
}
