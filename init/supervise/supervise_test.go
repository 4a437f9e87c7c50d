package supervise

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/nix-docker/nix-docker/init/reap"
	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/internal/testutil"
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
	// The init catches HUP (pid1.go), so its services start with HUP at
	// its default. Run under nohup, the test binary would hand them HUP
	// ignored, which a shell cannot trap (TestControl). Catch it as the
	// init does.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP)
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

func intp(i int) *int           { return &i }
func floatp(f float64) *float64 { return &f }

// start runs services under a new Supervisor and stops them when the test
// ends.
func start(t *testing.T, sp *runspec.Spec) *harness {
	t.Helper()
	now := time.Now()
	h := &harness{out: &logBuffer{start: now}, err: &logBuffer{start: now}}
	return startWith(t, sp, h, h.out, h.err)
}

// startWith is start with the services' output going to stdout and
// stderr.
func startWith(t *testing.T, sp *runspec.Spec, h *harness, stdout, stderr io.Writer) *harness {
	t.Helper()
	sp.Version = runspec.Version
	if err := sp.Validate(); err != nil {
		t.Fatal(err)
	}
	sup, err := New(sp, Options{Reaper: reaper, Stdout: NewOutput(stdout), Stderr: NewOutput(stderr)})
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

// needBusybox returns the path of a busybox binary; without one the test
// skips, or fails under NIX_DOCKER_REQUIRE_INTEGRATION=1 (scripts/setup
// installs busybox-static).
func needBusybox(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("busybox")
	if err != nil {
		testutil.Missing(t, "busybox is not installed (apt-get install busybox-static)")
	}
	return p
}

// lines returns the lines of file f (none if it is missing).
func lines(f string) []string {
	b, _ := os.ReadFile(f)
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestReadinessOrder(t *testing.T) {
	t.Parallel()
	busybox := needBusybox(t)
	port := freePort(t)
	h := start(t, &runspec.Spec{Services: []runspec.Service{
		{Name: "db", Command: fmt.Sprintf("/bin/sh -c 'sleep 1.5; exec %s nc -ll -p %d -e /bin/true'", busybox, port),
			Ready: &runspec.Ready{TCP: port, Timeout: 10}},
		{Name: "app", Command: "sleep 100", After: []string{"db"}, StartSecs: intp(0)},
		{Name: "web", Command: "sleep 100", After: []string{"app"}, StartSecs: intp(0)},
	}})
	h.waitState(t, 30*time.Second, "web", Running)
	dbReady := h.find(`^init \| db: ready$`)
	appStart := h.out.find(`^init \| app: started`)
	if len(dbReady) != 1 || len(appStart) != 1 {
		t.Fatalf("db ready at %v, app started at %v; want one each", dbReady, appStart)
	}
	if dbReady[0] < 1400*time.Millisecond {
		t.Errorf("db ready at %s, before its port opened at 1.5s", dbReady[0])
	}
	for _, pair := range [][2]string{{`db: ready$`, `app: started`}, {`app: ready$`, `web: started`}} {
		before, after := h.out.index(pair[0]), h.out.index(pair[1])
		if before < 0 || after < 0 || after < before {
			t.Errorf("lines %q at %d and %q at %d, want both, in that order", pair[0], before, pair[1], after)
		}
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
	h.waitState(t, 30*time.Second, "app", Running)
	if n := len(h.find(`app: started`)); n != 1 {
		t.Errorf("app started %d times, want 1", n)
	}
	if ready, app := h.out.index(`db: ready$`), h.out.index(`app: started`); ready < 0 || app < ready {
		t.Errorf("db ready at line %d, app started at line %d, want app after db's ready check passed", ready, app)
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
	h.waitState(t, 30*time.Second, "db", Fatal)
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
				starts := func() int { return len(h.find(`^init \| s: (started|.*restarted) \(pid`)) }
				if restart {
					waitFor(t, 30*time.Second, "two restarts", func() bool { return starts() >= 3 })
					return
				}
				// The exit line of a run that is not restarted is final.
				waitFor(t, 30*time.Second, "the exit", func() bool { return h.out.index(`^init \| s: exited \(exit \d, \w+\)$`) >= 0 })
				if n := starts(); n != 1 {
					t.Errorf("started %d times, want 1", n)
				}
				if st := h.sup.Status()["s"]; st != Exited {
					t.Errorf("state %s, want EXITED", st)
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
		h.waitState(t, 30*time.Second, "s", Fatal)
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
	case <-time.After(30 * time.Second):
		t.Fatal("no critical failure after 30s")
	}
	if f != (Failure{"crash", 1}) {
		t.Errorf("Failed() = %+v, want crash with code 1", f)
	}
	starts := h.find(`crash: started`)
	if len(starts) != 4 {
		t.Fatalf("started %d times, want 4 (startretries=3)", len(starts))
	}
	// Each wait is the backoff, and less than the next one.
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if got := starts[i+1] - starts[i]; got < want || got >= 2*want {
			t.Errorf("backoff %d = %s, want %s (at least, and less than %s)", i+1, got, want, 2*want)
		}
	}
	if h.out.index(`crash: FATAL: gave up after 4 failed starts \(exit 1 before startsecs\)`) < 0 {
		t.Errorf("no FATAL line")
	}
}

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		n     int
		limit time.Duration
		want  time.Duration
	}{
		{1, time.Minute, time.Second}, {2, time.Minute, 2 * time.Second}, {3, time.Minute, 4 * time.Second},
		{6, time.Minute, 32 * time.Second}, {7, time.Minute, time.Minute}, {8, time.Minute, time.Minute},
		// 35 and more overflowed a shift of time.Second.
		{35, time.Minute, time.Minute}, {64, time.Minute, time.Minute}, {1 << 30, time.Minute, time.Minute},
		{40, time.Second, time.Second}, {3, 3 * time.Second, 3 * time.Second},
		{1 << 30, runspec.MaxSecs * time.Second, runspec.MaxSecs * time.Second},
	} {
		if got := backoff(c.n, c.limit); got != c.want {
			t.Errorf("backoff(%d, %s) = %s, want %s", c.n, c.limit, got, c.want)
		}
	}
}

func TestRateLimit(t *testing.T) {
	var r rateLimit
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for i, c := range []struct {
		ms        int
		fresh, ok bool
	}{
		{0, true, true}, {100, false, true}, {200, false, true}, // 3 in the window opened at 0
		{300, false, false}, // a fourth: refused
		{1000, true, true},  // the window has passed: a new one
		{1500, false, true},
	} {
		fresh, ok := r.allow(at(c.ms), 3, time.Second)
		if fresh != c.fresh || ok != c.ok {
			t.Errorf("%d: allow at %dms = %v, %v, want %v, %v", i, c.ms, fresh, ok, c.fresh, c.ok)
		}
	}
}

// TestCrashLoopDefaults: a process that exits at once, restarted always,
// is restarted no sooner than restartsec (0.1 s) after each exit, goes
// FATAL on the sixth exit within 10 s (startlimitburst 5), ends the
// container when critical, and logs each state change once.
func TestCrashLoopDefaults(t *testing.T) {
	t.Parallel()
	starts := filepath.Join(t.TempDir(), "starts")
	h := start(t, &runspec.Spec{Services: []runspec.Service{{
		Name: "crash", Command: "/bin/sh -c 'date +%s%N >>" + starts + "; exit 1'",
		StartSecs: intp(0), Autorestart: runspec.RestartAlways, Critical: true,
	}}})
	select {
	case f := <-h.sup.Failed():
		if f != (Failure{"crash", 1}) {
			t.Errorf("Failed() = %+v, want crash with code 1", f)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no critical failure after 30s")
	}
	if st := h.sup.Status()["crash"]; st != Fatal {
		t.Errorf("state %s, want FATAL", st)
	}
	at := lines(starts)
	if len(at) != 1+runspec.DefaultStartLimitBurst {
		t.Fatalf("started %d times, want 6 (a start and 5 restarts)", len(at))
	}
	for i := 1; i < len(at); i++ {
		a, _ := strconv.ParseInt(at[i-1], 10, 64)
		b, _ := strconv.ParseInt(at[i], 10, 64)
		if gap := time.Duration(b - a); gap < 100*time.Millisecond {
			t.Errorf("restart %d came %s after the previous start, want at least restartsec 0.1s", i, gap)
		}
	}
	if h.out.index(`^init \| crash: FATAL: exited \(exit 1, unexpected\) after 5 restarts within 10s \(startlimitburst=5, startlimitintervalsec=10\); 3 restarts were not logged while flapping$`) < 0 {
		t.Errorf("no FATAL line")
	}
	if n := len(h.find(`^init \| crash: `)); n > 5 {
		t.Errorf("%d log lines for 6 starts, want one per state change (at most 5)", n)
	}
}

// TestFlappingQuiet: with a loose limit, a crash loop logs when it starts
// flapping and when that ends, not each restart.
func TestFlappingQuiet(t *testing.T) {
	t.Parallel()
	starts := filepath.Join(t.TempDir(), "starts")
	h := start(t, &runspec.Spec{Services: []runspec.Service{{
		Name: "crash", Command: "/bin/sh -c 'echo >>" + starts + "; exit 1'",
		StartSecs: intp(0), Autorestart: runspec.RestartAlways,
		RestartSec: floatp(0.01), StartLimitBurst: intp(100000), StartLimitIntervalSec: intp(100),
	}}})
	waitFor(t, 30*time.Second, "50 starts", func() bool { return len(lines(starts)) >= 50 })
	if _, err := h.sup.Control("stop", "crash", ""); err != nil {
		t.Fatal(err)
	}
	if n := len(h.find(`^init \| crash: .*flapping: 2 restarts within 1m40s, not logged until it stays up 1m40s$`)); n != 1 {
		t.Errorf("%d flapping lines, want 1", n)
	}
	// Stopped while it runs, or while it waits to be restarted.
	if h.out.index(`^init \| crash: stopped (\(.*\)|before a restart); \d+ restarts were not logged while flapping$`) < 0 {
		t.Errorf("no line saying how many restarts were not logged")
	}
	if n := len(h.find(`^init \| `)); n > 7 {
		t.Errorf("%d log lines for %d starts, want one per state change", n, len(lines(starts)))
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
			case <-time.After(30 * time.Second):
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
	h.waitState(t, 30*time.Second, "app", Running)
	h.waitState(t, 30*time.Second, "bad", Fatal)
	// bad is FATAL for good, so never waits for good.
	st := h.sup.Status()
	if st["setup"] != Exited || st["app"] != Running || st["never"] != Waiting {
		t.Errorf("states %v, want setup EXITED, app RUNNING, never WAITING", st)
	}
	if n := len(h.find(`bad: started`)); n != 1 {
		t.Errorf("one-shot started %d times, want 1", n)
	}
}

// trapTerm is a service that says when it gets TERM, waits secs and exits 0.
func trapTerm(secs string) string {
	return `/bin/sh -c 'trap "echo got TERM; sleep ` + secs + `; exit 0" TERM; echo up; while :; do sleep 0.05; done'`
}

// TestStopOrder: each service of a chain is stopped (its group gone)
// before the service it starts after gets TERM.
func TestStopOrder(t *testing.T) {
	t.Parallel()
	h := start(t, &runspec.Spec{Services: []runspec.Service{
		{Name: "a", Command: trapTerm("0"), StartSecs: intp(0)},
		{Name: "b", Command: trapTerm("0"), After: []string{"a"}, StartSecs: intp(0)},
		{Name: "c", Command: trapTerm("0"), After: []string{"b"}, StartSecs: intp(0)},
	}})
	waitFor(t, 30*time.Second, "c up", func() bool { return h.out.index(`^c \| up$`) >= 0 })
	h.sup.StopAll()
	// Both the init's own line ("stopping b", logged before the TERM) and
	// the service's ("b | got TERM") come after the dependant's "stopped".
	for _, pair := range [][2]string{{"c", "b"}, {"b", "a"}} {
		stopped := h.out.index(`^init \| ` + pair[0] + `: stopped \(exit 0\)$`)
		stopping := h.out.index(`^init \| stopping ` + pair[1] + `$`)
		term := h.out.index(`^` + pair[1] + ` \| got TERM$`)
		if stopped < 0 || stopping < 0 || term < 0 || stopping < stopped || term < stopped {
			t.Errorf("%s stopped at line %d, %s was being stopped at line %d and got TERM at line %d; want all three, %s stopped first", pair[0], stopped, pair[1], stopping, term, pair[0])
		}
	}
	if _, err := h.sup.Control("start", "a", ""); err == nil {
		t.Errorf("start after StopAll succeeded")
	}
}

// TestStopParallel: independent services get TERM at once; the service
// they both start after, only when both have stopped.
func TestStopParallel(t *testing.T) {
	t.Parallel()
	h := start(t, &runspec.Spec{Services: []runspec.Service{
		{Name: "db", Command: trapTerm("0"), StartSecs: intp(0)},
		{Name: "x", Command: trapTerm("0.5"), After: []string{"db"}, StartSecs: intp(0)},
		{Name: "y", Command: trapTerm("0.5"), After: []string{"db"}, StartSecs: intp(0)},
	}})
	waitFor(t, 30*time.Second, "x and y up", func() bool {
		return h.out.index(`^x \| up$`) >= 0 && h.out.index(`^y \| up$`) >= 0
	})
	h.sup.StopAll()
	at := func(re string) int {
		i := h.out.index(re)
		if i < 0 {
			t.Fatalf("no line %q", re)
		}
		return i
	}
	xTerm, yTerm := at(`^x \| got TERM$`), at(`^y \| got TERM$`)
	xStop, yStop := at(`^init \| x: stopped`), at(`^init \| y: stopped`)
	if xTerm > yStop || yTerm > xStop {
		t.Errorf("x got TERM at line %d and stopped at %d, y at %d and %d: want both TERMs before either stopped", xTerm, xStop, yTerm, yStop)
	}
	if dbTerm := at(`^db \| got TERM$`); dbTerm < xStop || dbTerm < yStop {
		t.Errorf("db got TERM at line %d, before x (%d) and y (%d) had stopped", dbTerm, xStop, yStop)
	}
}

// TestKillAll: a second TERM during a stop KILLs what ignores the first.
func TestKillAll(t *testing.T) {
	t.Parallel()
	h := start(t, &runspec.Spec{Services: []runspec.Service{{
		Name: "stubborn", Command: `/bin/sh -c 'trap "" TERM; echo up; while :; do sleep 0.05; done'`,
		StartSecs: intp(0), StopWaitSecs: intp(300),
	}}})
	waitFor(t, 30*time.Second, "up", func() bool { return h.out.index(`stubborn \| up`) >= 0 })
	done := make(chan struct{})
	go func() { h.sup.StopAll(); close(done) }()
	waitFor(t, 30*time.Second, "stopping", func() bool { return h.out.index(`^init \| stopping stubborn$`) >= 0 })
	h.sup.KillAll()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("StopAll still running 60s after KillAll (stopwaitsecs is 300)")
	}
	if h.out.index(`^init \| stubborn: stopped \(signal KILL\)$`) < 0 {
		t.Errorf("no line saying stubborn was KILLed")
	}
}

func TestGroupKillAtStopWaitSecs(t *testing.T) {
	t.Parallel()
	h := start(t, &runspec.Spec{Services: []runspec.Service{{
		Name: "stubborn", Command: `/bin/sh -c 'trap "" TERM; sleep 1000 & sleep 1000 & echo up; wait; wait'`,
		StartSecs: intp(0), StopWaitSecs: intp(1),
	}}})
	waitFor(t, 30*time.Second, "up", func() bool { return h.out.index(`stubborn \| up`) >= 0 })
	h.sup.order[0].mu.Lock()
	pgid := h.sup.order[0].pid
	h.sup.order[0].mu.Unlock()
	begin := time.Now()
	if _, err := h.sup.Control("stop", "stubborn", ""); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d < time.Second {
		t.Errorf("stop took %s, want at least stopwaitsecs=1s", d)
	}
	if h.out.index(`stubborn: still running after stopwaitsecs=1, sending KILL`) < 0 {
		t.Errorf("no KILL line")
	}
	// The stop ends when the group is empty.
	if err := syscall.Kill(-pgid, 0); err != syscall.ESRCH {
		t.Errorf("process group %d still exists after the stop (kill 0: %v)", pgid, err)
	}
}

// TestGroupCleanup: when the main process exits, what it left in its
// process group gets the stop signal, then KILL after stopwaitsecs; with
// leavechildren it is left alone.
func TestGroupCleanup(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		child string // a background child that writes its pid to $1
		leave bool
		kill  bool // the child ignores TERM
	}{
		{"term", `sleep 1000 & echo $! >"$1"`, false, false},
		// The child says when it ignores TERM; the service waits for that.
		{"kill", `sh "$1.sh" "$1" & echo $! >"$1"; while [ ! -e "$1.ready" ]; do sleep 0.01; done`, false, true},
		{"leave", `sleep 1000 & echo $! >"$1"`, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pidFile := filepath.Join(t.TempDir(), "pid")
			if err := os.WriteFile(pidFile+".sh", []byte(`trap "" TERM; touch "$1.ready"; exec sleep 1000`), 0o644); err != nil {
				t.Fatal(err)
			}
			h := start(t, &runspec.Spec{Services: []runspec.Service{{
				Name: "s", Command: "/bin/sh -c '" + c.child + "; exit 3' sh " + pidFile,
				StartSecs: intp(0), Autorestart: runspec.RestartNever, StopWaitSecs: intp(1), LeaveChildren: c.leave,
			}}})
			waitFor(t, 30*time.Second, "the exit", func() bool { return h.out.index(`^init \| s: exited \(exit 3, unexpected\)$`) >= 0 })
			pid, err := strconv.Atoi(strings.TrimSpace(strings.Join(lines(pidFile), "")))
			if err != nil {
				t.Fatalf("child pid: %v", err)
			}
			alive := syscall.Kill(pid, 0) == nil
			if c.leave {
				syscall.Kill(pid, syscall.SIGKILL)
				if !alive {
					t.Errorf("the child was stopped although leavechildren is set")
				}
				return
			}
			// The exit counts once the group is gone: no waiting here.
			if alive {
				t.Errorf("the child %d is still alive after its service exited", pid)
			}
			if killed := h.out.index(`^init \| s: still running after stopwaitsecs=1, sending KILL$`) >= 0; killed != c.kill {
				t.Errorf("KILL line: %v, want %v", killed, c.kill)
			}
		})
	}
}

// TestReadersEnd: a service's pipes are closed once it has exited, even
// when a child it leaves behind holds them; over many restarts the
// init's descriptors stay flat.
func TestReadersEnd(t *testing.T) {
	// Not parallel: it counts this process's descriptors.
	fds := func() int {
		ents, _ := os.ReadDir("/proc/self/fd")
		return len(ents)
	}
	before := fds()
	starts := filepath.Join(t.TempDir(), "starts")
	h := start(t, &runspec.Spec{Services: []runspec.Service{{
		Name: "leaver", Command: "/bin/sh -c 'echo >>" + starts + "; sleep 1000 & echo started; exit 1'",
		StartSecs: intp(0), Autorestart: runspec.RestartAlways, LeaveChildren: true,
		RestartSec: floatp(0.01), StartLimitBurst: intp(100000),
	}}})
	waitFor(t, 60*time.Second, "100 starts", func() bool { return len(lines(starts)) >= 100 })
	if _, err := h.sup.Control("stop", "leaver", ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the readers to end", func() bool { return h.sup.readers.Load() == 0 })
	if after := fds(); after > before+2 {
		t.Errorf("%d descriptors after %d restarts, %d before", after, len(lines(starts)), before)
	}
	// The children left behind are this test's to end: orphans, they are
	// this process's children now.
	for _, pid := range children(t, "sleep") {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// children lists this process's children named comm.
func children(t *testing.T, comm string) []int {
	t.Helper()
	me := strconv.Itoa(os.Getpid())
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		f := strings.Fields(s[close+1:])
		if open < 0 || len(f) < 2 || s[open+1:close] != comm || f[1] != me {
			continue
		}
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestControlNotBlockedByOutput: status and health answer while the
// container's stdout does not take anything and a service floods it.
func TestControlNotBlockedByOutput(t *testing.T) {
	t.Parallel()
	r, w := io.Pipe()
	h := &harness{out: &logBuffer{start: time.Now()}, err: &logBuffer{start: time.Now()}}
	startWith(t, &runspec.Spec{Services: []runspec.Service{
		{Name: "flood", Command: "yes flood", StartSecs: intp(0)},
	}}, h, w, h.err)
	// Registered after startWith's cleanup, so it runs first: the stop
	// logs, and that needs a reader.
	t.Cleanup(func() { go io.Copy(io.Discard, r) })
	// The loop is stuck too, logging "started": the log path is blocked.
	waitFor(t, 30*time.Second, "flood started", func() bool { return h.sup.Status()["flood"] != Stopped })
	for range 20 {
		done := make(chan string, 1)
		go func() {
			out, _ := h.sup.Control("status", "", "")
			h.sup.Control("health", "", "")
			done <- out
		}()
		select {
		case out := <-done:
			if !regexp.MustCompile(`(?m)^flood +(STARTING|RUNNING) +pid \d+`).MatchString(out) {
				t.Fatalf("status = %q", out)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("status did not answer in 10s while the output was blocked")
		}
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
	waitFor(t, 30*time.Second, "forked", func() bool { return h.out.index(`forker \| forked`) >= 0 })
	waitFor(t, 30*time.Second, "100 orphans reaped", func() bool { return reaper.Orphans()-before >= 100 })
	// The reaper collects each orphan soon after it exits: poll until no
	// zombie is left.
	waitFor(t, 30*time.Second, "no zombies", func() bool { return len(zombies(t)) == 0 })
}

func TestLogLines(t *testing.T) {
	t.Parallel()
	h := start(t, &runspec.Spec{Services: []runspec.Service{
		{Name: "big", Command: `/bin/sh -c 'head -c 1048576 /dev/zero | tr "\0" x; echo; printf "no newline"'`,
			OneShot: true},
		{Name: "huge", Command: `/bin/sh -c 'head -c 4194314 /dev/zero | tr "\0" y; echo'`, OneShot: true},
		{Name: "err", Command: `/bin/sh -c 'echo to stderr >&2; printf "a\nb" >&2'`, OneShot: true},
		{Name: "chatty", Command: `/bin/sh -c 'i=0; while [ $i -lt 2000 ]; do echo "line $i of chatty output"; i=$((i+1)); done'`,
			OneShot: true},
	}})
	for _, n := range []string{"big", "err", "chatty", "huge"} {
		h.waitState(t, 30*time.Second, n, Exited)
	}
	h.sup.Drain(10 * time.Second)
	out := h.out.String()
	valid := regexp.MustCompile(`^(init \| (big|chatty|err|huge): |chatty \| line \d+ of chatty output$|big \| (x+|no newline)$|huge \| y+$)`)
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
	// A line longer than MaxLine (4 MiB) is cut into pieces, in order; the
	// pieces are separate writes, so the init's own lines may come between.
	var lens []int
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "huge | ") {
			lens = append(lens, len(l)-len("huge | "))
		}
	}
	if fmt.Sprint(lens) != fmt.Sprint([]int{MaxLine, 10}) {
		t.Errorf("the 4 MiB + 10 bytes line is not cut into 4 MiB and 10 bytes: lines of %v bytes", lens)
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
	testutil.NeedRoot(t) // changes users and owners; CI runs as root
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
	h.waitState(t, 30*time.Second, "who", Exited)
	h.sup.Drain(10 * time.Second)
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
		{Name: "b", Command: `/bin/sh -c 'trap "echo got HUP" HUP; echo up; while :; do sleep 0.05; done'`, StartSecs: intp(0), Signals: []string{"HUP"}},
	}})
	h.waitState(t, 30*time.Second, "a", Running)
	waitFor(t, 30*time.Second, "b up", func() bool { return h.out.index(`^b \| up$`) >= 0 })
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
	h.waitState(t, 30*time.Second, "a", Running)
	status, _ := h.sup.Control("status", "", "")
	if !regexp.MustCompile(`(?m)^a +RUNNING +pid \d+, uptime`).MatchString(status) {
		t.Errorf("status = %q", status)
	}
	h.sup.Forward(syscall.SIGHUP)
	waitFor(t, 30*time.Second, "HUP forwarded", func() bool { return h.out.index(`b \| got HUP`) >= 0 })
	if _, err := h.sup.Control("signal", "b", "HUP"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "HUP sent", func() bool { return len(h.find(`b \| got HUP`)) >= 2 })
	if _, err := h.sup.Control("stop", "nope", ""); err == nil {
		t.Errorf("stop of an unknown service succeeded")
	}
	if out, err := h.sup.Control("stop", "all", ""); err != nil || out != "a: stop ok\nb: stop ok\n" {
		t.Errorf("stop all = %q, %v", out, err)
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
	testutil.NeedRoot(t) // changes users and owners; CI runs as root
	root := t.TempDir()
	sp := &runspec.Spec{
		Users:  []runspec.User{{Name: "svc", UID: 1234, GID: 1235}},
		Groups: []runspec.Group{{Name: "web", GID: 1300}},
		Directories: []runspec.Directory{
			{Path: "/var/lib/db", User: "svc", Mode: 0o750},
			{Path: "/srv/www", User: "svc", Group: "web", Mode: 0o2775},
			{Path: "/locked", Mode: 0}, // 0000 exactly, not a default
			{Path: "/existing", User: "svc", Mode: 0o700},
		},
	}
	if err := os.Mkdir(filepath.Join(root, "existing"), 0o777); err != nil {
		t.Fatal(err)
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
		{"locked", os.ModeDir, 0, 0},
		{"existing", os.ModeDir | 0o700, 1234, 1235},
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

// TestSetupRefusesLinks: a link planted where a declared directory or one
// of its parents should be is refused, and its target is left as it was.
func TestSetupRefusesLinks(t *testing.T) {
	testutil.NeedRoot(t) // changes users and owners; CI runs as root
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	if err := os.Mkdir(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(etc, 0o755)
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"data/cache", "data/final"} {
		if err := os.Symlink(etc, filepath.Join(root, l)); err != nil {
			t.Fatal(err)
		}
	}
	users := []runspec.User{{Name: "svc", UID: 1234, GID: 1235}}
	for _, c := range []struct{ dir, want string }{
		{"/data/cache/sub", "directory /data/cache/sub: /data/cache is a symbolic link (to " + etc + "); the init does not follow links when it makes directories"},
		{"/data/final", "directory /data/final: /data/final is a symbolic link"},
	} {
		err := Setup(&runspec.Spec{Users: users, Directories: []runspec.Directory{{Path: c.dir, User: "svc", Mode: 0o777}}}, root)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Setup(%s) = %v, want an error with %q", c.dir, err, c.want)
		}
	}
	fi, err := os.Stat(etc)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode() != os.ModeDir|0o755 || st.Uid != 0 {
		t.Errorf("the link's target is now %v owned by %d, want drwxr-xr-x owned by root", fi.Mode(), st.Uid)
	}
	if _, err := os.Lstat(filepath.Join(etc, "sub")); err == nil {
		t.Errorf("a directory was made through the link")
	}
	os.WriteFile(filepath.Join(root, "file"), nil, 0o644)
	if err := Setup(&runspec.Spec{Directories: []runspec.Directory{{Path: "/file/x"}}}, root); err == nil || !strings.Contains(err.Error(), "/file is not a directory") {
		t.Errorf("Setup through a file = %v, want /file is not a directory", err)
	}
}

// TestCopyLines: whatever the reads return, each line comes out whole
// with its prefix, lines over MaxLine in MaxLine pieces, and a last line
// without a newline gets one.
func TestCopyLines(t *testing.T) {
	long := func(n int, c byte) string { return strings.Repeat(string(c), n) }
	in := "a\n\nb c\n" + long(MaxLine, 'x') + "\n" + long(MaxLine+1, 'y') + "\n" + long(2*MaxLine+3, 'z') + "\nend"
	want := "p | a\np | \np | b c\np | " + long(MaxLine, 'x') + "\np | " + long(MaxLine, 'y') + "\np | y\np | " +
		long(MaxLine, 'z') + "\np | " + long(MaxLine, 'z') + "\np | zzz\np | end\n"
	for name, r := range map[string]func() io.Reader{
		"whole":   func() io.Reader { return strings.NewReader(in) },
		"halves":  func() io.Reader { return iotest.HalfReader(strings.NewReader(in)) },
		"7 bytes": func() io.Reader { return &chunkReader{s: in, n: 7} },
		"64 KiB+1": func() io.Reader {
			return &chunkReader{s: in, n: readChunk + 1}
		},
	} {
		var b bytes.Buffer
		copyLines(NewOutput(&b), "p | ", r())
		if got := b.String(); got != want {
			t.Errorf("%s: got %d bytes, want %d", name, len(got), len(want))
		}
	}
	// A line of exactly MaxLine whose newline comes in the next read.
	var b bytes.Buffer
	copyLines(NewOutput(&b), "p | ", strings.NewReader(long(MaxLine, 'x')+"\nafter"))
	if got, want := b.String(), "p | "+long(MaxLine, 'x')+"\np | after\n"; got != want {
		t.Errorf("a MaxLine line read in %d-byte chunks: got %d bytes, want %d", readChunk, len(got), len(want))
	}
}

// chunkReader returns at most n bytes a read.
type chunkReader struct {
	s string
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.s)
	c.s = c.s[k:]
	return k, nil
}
