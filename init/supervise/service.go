package supervise

import (
	"context"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nix-docker/nix-docker/internal/runspec"
)

// State is a service's state, with supervisord's names; WAITING means
// waiting for `after` dependencies to be ready.
type State string

// The states a service moves through.
const (
	Stopped  State = "STOPPED"
	Waiting  State = "WAITING"
	Starting State = "STARTING"
	Running  State = "RUNNING"
	Backoff  State = "BACKOFF"
	Stopping State = "STOPPING"
	Exited   State = "EXITED"
	Fatal    State = "FATAL"
)

type op int

const (
	opStart op = iota
	opStop
	opSignal
	opKill
)

type command struct {
	op    op
	sig   syscall.Signal
	group bool
	done  chan error
}

// service is one supervised program. Its run loop owns the machine and
// handles one event at a time; the fields under mu are what status and
// health read from other goroutines.
type service struct {
	sup        *Supervisor
	spec       runspec.Service
	stopSig    syscall.Signal
	deps       []*service // the services it starts after
	dependants []*service // the services that start after it

	// env and cred are the environment and credentials of every process
	// the service starts.
	env  []string
	cred *syscall.Credential

	readyOnce sync.Once
	ready     chan struct{} // closed when first ready (one-shot: exited well)
	cmds      chan command

	mu        sync.Mutex
	state     State
	pid       int
	since     time.Time
	lastExit  string
	readyNow  bool
	expectEnd bool // ended with an expected code and will not restart

	m machine
}

// machine is the run loop's own state: the current process, the pending
// timers and what the next event means. Only the run loop touches it.
type machine struct {
	state State
	proc  *process // the main process and its group; nil when none

	depsOK, depsStop chan struct{}      // waiting for `after` services
	retry            <-chan time.Time   // backoff or restart delay
	started          <-chan time.Time   // startsecs elapsed
	readyRes         chan error         // the ready check's verdict
	readyStop        context.CancelFunc // ends the ready check
	deadline         <-chan time.Time   // stopwaitsecs, then the KILL grace
	groupGone        <-chan struct{}    // the process group is empty
	steady           <-chan time.Time   // up a whole interval since the last restart

	failures int       // failed starts in a row
	limit    rateLimit // automatic restarts
	flapping bool      // restarts are not logged one by one
	quiet    int       // restarts not logged since flapping began
	exitLine string    // how the last run ended, for the restart's log line
	exitNote string    // and the end of flapping, if the restart ends it
	restart  bool      // the next spawn is an automatic restart
	autoRun  bool      // the current run is an automatic restart

	waiters  []command // stop requests waiting for STOPPED
	stopReq  bool      // a stop was asked for
	failStop bool      // the stop is a readiness timeout: a failed start
	exitFrom State     // the state the main process exited from
	killed   bool      // KILL was sent after stopwaitsecs or a second TERM
}

func newService(sup *Supervisor, rs runspec.Service, stopSig syscall.Signal) *service {
	return &service{
		sup:     sup,
		spec:    rs,
		stopSig: stopSig,
		ready:   make(chan struct{}),
		cmds:    make(chan command, 16),
		state:   Stopped,
		m:       machine{state: Stopped, readyStop: func() {}},
	}
}

func (s *service) logf(format string, args ...any) {
	s.sup.Logf(s.spec.Name+": "+format, args...)
}

// call sends c to the service's loop and waits for its answer.
func (s *service) call(c command) error {
	c.done = make(chan error, 1)
	s.cmds <- c
	return <-c.done
}

func reply(c command, err error) {
	if c.done != nil {
		c.done <- err
	}
}

// set moves the machine to st and publishes it with the current pid.
func (s *service) set(st State) {
	s.m.state = st
	pid := 0
	if p := s.m.proc; p != nil && !p.done {
		pid = p.pid
	}
	s.mu.Lock()
	s.state = st
	if pid != s.pid {
		s.pid = pid
		s.since = time.Now()
	}
	s.mu.Unlock()
}

func (s *service) markReady() {
	s.mu.Lock()
	s.readyNow = true
	s.mu.Unlock()
	s.readyOnce.Do(func() { close(s.ready) })
}

func (s *service) healthy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case Starting, Running:
		return s.readyNow
	case Exited:
		return s.expectEnd
	}
	return false
}

// run is the service's event loop: one method per event.
func (s *service) run() {
	m := &s.m
	for {
		select {
		case c := <-s.cmds:
			s.onCommand(c)
		case <-m.depsOK:
			s.onDepsReady()
		case <-m.retry:
			s.onRetry()
		case <-m.started:
			s.onStartSecs()
		case err := <-m.readyRes:
			s.onReadyResult(err)
		case <-m.deadline:
			s.onDeadline()
		case ws := <-s.exitedChan():
			s.onMainExit(ws)
		case <-m.groupGone:
			s.onGroupGone()
		case <-m.steady:
			s.onSteady()
		}
	}
}

// exitedChan is the main process's exit channel while it runs, else nil.
func (s *service) exitedChan() <-chan syscall.WaitStatus {
	if p := s.m.proc; p != nil && !p.done {
		return p.exited
	}
	return nil
}

func (s *service) onCommand(c command) {
	switch c.op {
	case opStart:
		s.onStart(c)
	case opStop:
		s.onStop(c)
	case opSignal:
		reply(c, s.signal(c.sig, c.group))
	case opKill:
		s.onKill()
		reply(c, nil)
	}
}

func (s *service) onStart(c command) {
	m := &s.m
	switch m.state {
	case Stopped, Exited, Fatal:
	default:
		reply(c, errAlready(m.state))
		return
	}
	if s.sup.stopping.Load() {
		reply(c, errStopping)
		return
	}
	m.retry = nil
	m.failures = 0
	m.limit = rateLimit{}
	s.endFlapping()
	s.begin()
	reply(c, nil)
}

// begin starts the process, or waits for the `after` services first.
func (s *service) begin() {
	var waiting []string
	for _, d := range s.deps {
		select {
		case <-d.ready:
		default:
			waiting = append(waiting, d.spec.Name)
		}
	}
	if len(waiting) == 0 {
		s.spawn("started", "")
		return
	}
	s.set(Waiting)
	s.logf("waiting for %s", strings.Join(waiting, ", "))
	s.m.depsOK, s.m.depsStop = make(chan struct{}), make(chan struct{})
	go waitDeps(s.deps, s.m.depsOK, s.m.depsStop)
}

func waitDeps(deps []*service, ok, stop chan struct{}) {
	for _, d := range deps {
		select {
		case <-d.ready:
		case <-stop:
			return
		}
	}
	close(ok)
}

func (s *service) onStop(c command) {
	m := &s.m
	switch {
	case m.state == Waiting:
		close(m.depsStop)
		m.depsOK, m.depsStop = nil, nil
		s.set(Stopped)
		reply(c, nil)
	case m.retry != nil: // BACKOFF, or EXITED before a restart
		m.retry = nil
		s.set(Stopped)
		if note := s.endFlapping(); note != "" {
			s.logf("stopped before a restart%s", note)
		}
		reply(c, nil)
	case m.state == Starting || m.state == Running:
		s.sup.Logf("stopping %s", s.spec.Name)
		m.stopReq, m.failStop = true, false
		s.beginStop()
		m.waiters = append(m.waiters, c)
	case m.state == Stopping:
		m.stopReq, m.failStop = true, false
		m.waiters = append(m.waiters, c)
	default:
		reply(c, nil)
	}
}

// beginStop sends the stop signal and arms the KILL deadline.
func (s *service) beginStop() {
	s.endReadyCheck()
	s.m.started = nil
	s.set(Stopping)
	p := s.m.proc
	s.signal(s.stopSig, *s.spec.StopAsGroup)
	p.groupSignalled = *s.spec.StopAsGroup
	s.m.deadline = time.After(time.Duration(*s.spec.StopWaitSecs) * time.Second)
}

// onKill is the second TERM: KILL the whole group at once.
func (s *service) onKill() {
	p := s.m.proc
	if p == nil {
		return
	}
	s.m.killed = true
	if !p.done {
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
	syscall.Kill(-p.pid, syscall.SIGKILL)
}

func (s *service) onDepsReady() {
	s.m.depsOK, s.m.depsStop = nil, nil
	s.spawn("started", "")
}

func (s *service) onRetry() {
	s.m.retry = nil
	switch s.m.state {
	case Backoff:
		s.spawn("started", "")
	case Exited:
		s.restart()
	}
}

func (s *service) onStartSecs() {
	s.m.started = nil
	s.set(Running)
	s.m.failures = 0
	if !s.hasReadyCheck() {
		s.becameReady()
	}
}

func (s *service) onReadyResult(err error) {
	s.m.readyRes = nil
	if err == nil {
		s.becameReady()
		return
	}
	s.logf("%v, stopping it", err)
	s.m.stopReq, s.m.failStop = true, true
	s.beginStop()
}

// becameReady marks the service ready and logs it, except after an
// automatic restart when it has no ready check: the restart's line says
// enough.
func (s *service) becameReady() {
	s.markReady()
	if !s.m.flapping && (!s.m.autoRun || s.hasReadyCheck()) {
		s.logf("ready")
	}
}

// onDeadline: stopwaitsecs have passed since the stop signal (KILL), or
// the KILL grace has passed too (give up on what is left of the group).
func (s *service) onDeadline() {
	m := &s.m
	m.deadline = nil
	p := m.proc
	if m.state != Stopping || p == nil {
		return
	}
	if !m.killed {
		m.killed = true
		s.logf("still running after stopwaitsecs=%d, sending KILL", *s.spec.StopWaitSecs)
		if !p.done {
			s.signal(syscall.SIGKILL, *s.spec.KillAsGroup)
		} else {
			syscall.Kill(-p.pid, syscall.SIGKILL)
		}
		m.deadline = time.After(killGrace)
		return
	}
	if p.done {
		s.logf("warning: process group %d still there %s after KILL, leaving it", p.pid, killGrace)
		s.finishExit()
	}
}

// onMainExit: the main process has ended. What is left of its process
// group is stopped like the service before the exit counts.
func (s *service) onMainExit(ws syscall.WaitStatus) {
	m := &s.m
	p := m.proc
	p.status, p.done = ws, true
	s.endReadyCheck()
	m.started = nil
	if m.state != Stopping {
		m.exitFrom = m.state
	}
	if s.spec.LeaveChildren || !groupAlive(p.pid) {
		s.finishExit()
		return
	}
	if m.state != Stopping {
		s.set(Stopping)
		m.deadline = time.After(time.Duration(*s.spec.StopWaitSecs) * time.Second)
	} else {
		s.set(Stopping) // publishes that the main process is gone
	}
	switch {
	case m.killed:
		syscall.Kill(-p.pid, syscall.SIGKILL)
	case !p.groupSignalled:
		syscall.Kill(-p.pid, s.stopSig)
		p.groupSignalled = true
	}
	m.groupGone = s.watchGroup(p)
}

func (s *service) onGroupGone() {
	s.m.groupGone = nil
	s.finishExit()
}

// finishExit: the main process and its group are gone; decide what the
// exit means.
func (s *service) finishExit() {
	m := &s.m
	p := m.proc
	p.endWatch()
	if s.spec.LeaveChildren {
		p.out.drain(outputDrain)
	} else {
		p.out.drain(0) // the group is gone: all it wrote is in the pipes
	}
	m.proc, m.deadline, m.groupGone, m.killed = nil, nil, nil, false
	ws := p.status
	s.mu.Lock()
	s.lastExit = describe(ws)
	s.readyNow = false
	s.expectEnd = false
	s.mu.Unlock()
	expected := ws.Exited() && slices.Contains(s.spec.ExitCodes, ws.ExitStatus())
	switch {
	case m.stopReq && m.failStop:
		m.stopReq, m.failStop = false, false
		s.failedStart(ws, ", not ready in time")
	case m.stopReq:
		s.stopped(ws)
	case s.spec.OneShot:
		s.oneShotDone(ws, expected)
	case m.exitFrom == Starting:
		s.failedStart(ws, " before startsecs")
	default:
		s.exitedRunning(ws, expected)
	}
}

func (s *service) stopped(ws syscall.WaitStatus) {
	m := &s.m
	m.stopReq = false
	note := s.endFlapping()
	s.set(Stopped)
	s.logf("stopped (%s)%s", describe(ws), note)
	for _, w := range m.waiters {
		reply(w, nil)
	}
	m.waiters = nil
}

func (s *service) oneShotDone(ws syscall.WaitStatus, expected bool) {
	if !expected {
		s.set(Fatal)
		s.logf("FATAL: failed (%s)", describe(ws))
		s.failCritical(ws)
		return
	}
	s.set(Exited)
	s.mu.Lock()
	s.expectEnd = true
	s.mu.Unlock()
	s.logf("exited (%s), done", describe(ws))
	s.markReady()
}

func (s *service) onSteady() {
	s.m.steady = nil
	if s.m.state == Running || s.m.state == Starting {
		_, interval := s.spec.StartLimit()
		s.logf("up %s since its last restart, no longer flapping%s", interval, s.endFlapping())
	}
}

func (s *service) failCritical(ws syscall.WaitStatus) {
	if s.spec.Critical {
		s.sup.fail(s.spec.Name, ExitCode(ws))
	}
}

func (s *service) hasReadyCheck() bool {
	r := s.spec.Ready
	return r != nil && (r.TCP != 0 || r.Command != "")
}

func (s *service) endReadyCheck() {
	s.m.readyStop()
	s.m.readyStop = func() {}
	s.m.readyRes = nil
}
