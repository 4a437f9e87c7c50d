package supervise

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/nix-docker/nix-docker/internal/runspec"
)

var errStopping = errors.New("the init is stopping")

func errAlready(st State) error { return fmt.Errorf("already %s", st) }

// spawn starts one run of the main process, or counts a failed start.
// It logs "VERB (pid N)NOTE" unless verb is empty; readiness without a
// check is logged only after a start that is not an automatic restart.
func (s *service) spawn(verb, note string) bool {
	m := &s.m
	auto := m.restart
	m.restart = false
	if s.sup.stopping.Load() {
		s.set(Stopped)
		return false
	}
	p, err := s.start(s.spec.Command, s.spec.Name+" | ")
	if err != nil {
		s.logf("cannot start: %v", err)
		s.failedStart(syscall.WaitStatus(127<<8), "")
		return false
	}
	m.proc, m.killed = p, false
	m.autoRun = auto
	s.mu.Lock()
	s.readyNow = false
	s.mu.Unlock()
	s.set(Starting)
	if verb != "" {
		s.logf("%s (pid %d)%s", verb, p.pid, note)
	}
	if s.spec.OneShot {
		return true
	}
	if *s.spec.StartSecs == 0 {
		s.set(Running)
		m.failures = 0
	} else {
		m.started = time.After(time.Duration(*s.spec.StartSecs) * time.Second)
	}
	if s.hasReadyCheck() {
		ctx, cancel := context.WithCancel(context.Background())
		m.readyStop = cancel
		m.readyRes = make(chan error, 1)
		go s.checkReady(ctx, m.readyRes)
	} else if m.state == Running {
		s.becameReady()
	}
	return true
}

// failedStart counts a start that did not reach RUNNING: BACKOFF with a
// doubling, capped wait, or FATAL after startretries.
func (s *service) failedStart(ws syscall.WaitStatus, why string) {
	m := &s.m
	note := s.endFlapping()
	m.failures++
	if m.failures > *s.spec.StartRetries {
		s.set(Fatal)
		s.logf("FATAL: gave up after %d failed starts (%s%s)%s", m.failures, describe(ws), why, note)
		s.failCritical(ws)
		return
	}
	delay := max(backoff(m.failures, s.spec.MaxBackoff()), s.spec.RestartDelay())
	s.set(Backoff)
	s.logf("failed to start (%s%s), retrying in %s%s", describe(ws), why, delay, note)
	m.retry = time.After(delay)
}

// backoff is the wait after the nth failed start in a row: 1 s, doubling,
// at most limit. It never overflows, whatever n is.
func backoff(n int, limit time.Duration) time.Duration {
	d := time.Second
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// exitedRunning: a process that had reached RUNNING has exited by itself.
// autorestart decides; restarts wait restartsec and are rate limited.
func (s *service) exitedRunning(ws syscall.WaitStatus, expected bool) {
	m := &s.m
	how := "expected"
	if !expected {
		how = "unexpected"
	}
	restart := s.spec.Autorestart == runspec.RestartAlways ||
		(s.spec.Autorestart == runspec.RestartUnexpected && !expected)
	if !restart {
		note := s.endFlapping()
		s.set(Exited)
		s.logf("exited (%s, %s)%s", describe(ws), how, note)
		if expected {
			s.mu.Lock()
			s.expectEnd = true
			s.mu.Unlock()
		} else {
			s.failCritical(ws)
		}
		return
	}
	burst, interval := s.spec.StartLimit()
	fresh, ok := m.limit.allow(time.Now(), burst, interval)
	if !ok {
		note := s.endFlapping()
		s.set(Fatal)
		s.logf("FATAL: exited (%s, %s) after %d restarts within %s (startlimitburst=%d, startlimitintervalsec=%d)%s",
			describe(ws), how, burst, interval, burst, int(interval/time.Second), note)
		s.failCritical(ws)
		return
	}
	m.exitLine, m.exitNote = fmt.Sprintf("exited (%s, %s)", describe(ws), how), ""
	if fresh {
		m.exitNote = s.endFlapping()
	}
	s.set(Exited)
	m.retry = time.After(s.spec.RestartDelay())
}

// restart runs the automatic restart that exitedRunning scheduled. It
// logs one line, or none while the service is flapping: restarted more
// than once within startlimitintervalsec.
func (s *service) restart() {
	m := &s.m
	_, interval := s.spec.StartLimit()
	m.restart = true
	if !m.flapping && m.limit.n < 2 {
		s.spawn(m.exitLine+", restarted", m.exitNote)
		return
	}
	entering := !m.flapping
	m.flapping = true
	if !s.spawn("", "") {
		return
	}
	m.steady = time.After(interval)
	if !entering {
		m.quiet++
		return
	}
	m.quiet = 0
	s.logf("%s again, restarted (pid %d); flapping: %d restarts within %s, not logged until it stays up %s",
		m.exitLine, m.proc.pid, m.limit.n, interval, interval)
}

// endFlapping ends the quiet restarts, and returns a note for the line
// that logs the state change ending them: how many were not logged.
func (s *service) endFlapping() string {
	m := &s.m
	m.steady = nil
	if !m.flapping {
		return ""
	}
	m.flapping = false
	q := m.quiet
	m.quiet = 0
	if q == 0 {
		return ""
	}
	return fmt.Sprintf("; %d restarts were not logged while flapping", q)
}

// rateLimit counts automatic restarts in fixed windows, as systemd's
// start limit does: a window opens at a restart and lasts interval; more
// than burst restarts in one are refused.
type rateLimit struct {
	begin time.Time
	n     int
}

// allow records a restart at now unless it is over the limit; fresh tells
// that it opened a new window.
func (r *rateLimit) allow(now time.Time, burst int, interval time.Duration) (fresh, ok bool) {
	if r.n == 0 || now.Sub(r.begin) >= interval {
		r.begin, r.n, fresh = now, 0, true
	}
	if r.n >= burst {
		return false, false
	}
	r.n++
	return fresh, true
}
