package supervise

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
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
)

type command struct {
	op    op
	sig   syscall.Signal
	group bool
	done  chan error
}

type service struct {
	sup  *Supervisor
	spec runspec.Service
	deps []*service

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
}

func newService(sup *Supervisor, rs runspec.Service) *service {
	return &service{
		sup:   sup,
		spec:  rs,
		ready: make(chan struct{}),
		cmds:  make(chan command, 16),
		state: Stopped,
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

func (s *service) setState(st State, pid int) {
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

func reply(c command, err error) {
	if c.done != nil {
		c.done <- err
	}
}

// run is the service's state machine; it owns every field of the running
// process and handles one event at a time.
func (s *service) run() {
	var (
		state     = Stopped
		pid       int
		exited    <-chan syscall.WaitStatus
		depsOK    chan struct{}
		depsStop  chan struct{}
		started   <-chan time.Time // startsecs elapsed
		backoff   <-chan time.Time
		kill      <-chan time.Time
		readyRes  chan error
		readyStop context.CancelFunc = func() {}
		failures  int
		waiters   []command // stop requests waiting for STOPPED
		failStop  bool      // stopping because readiness timed out
	)
	stopSig, _ := ParseSignal(s.spec.StopSignal)
	set := func(st State) {
		state = st
		s.setState(st, pid)
	}

	// spawn starts one run of the process, or counts a failed start.
	var afterFailure func(ws syscall.WaitStatus, why string)
	spawn := func() {
		if s.sup.stopping.Load() {
			set(Stopped)
			return
		}
		p, ch, err := s.start(s.spec.Command, s.spec.Name+" | ")
		if err != nil {
			s.logf("cannot start: %v", err)
			afterFailure(syscall.WaitStatus(127<<8), "")
			return
		}
		pid, exited = p, ch
		s.mu.Lock()
		s.readyNow = false
		s.mu.Unlock()
		set(Starting)
		s.logf("started (pid %d)", pid)
		if s.spec.OneShot {
			return
		}
		if *s.spec.StartSecs == 0 {
			set(Running)
			failures = 0
		} else {
			started = time.After(time.Duration(*s.spec.StartSecs) * time.Second)
		}
		if r := s.spec.Ready; r != nil && (r.TCP != 0 || r.Command != "") {
			ctx, cancel := context.WithCancel(context.Background())
			readyStop = cancel
			readyRes = make(chan error, 1)
			go s.checkReady(ctx, readyRes)
		} else if state == Running {
			s.markReady()
			s.logf("ready")
		}
	}
	afterFailure = func(ws syscall.WaitStatus, why string) {
		failures++
		if failures > *s.spec.StartRetries {
			set(Fatal)
			s.logf("FATAL: gave up after %d failed starts (%s%s)", failures, describe(ws), why)
			if s.spec.Critical {
				s.sup.fail(s.spec.Name, ExitCode(ws))
			}
			return
		}
		delay := time.Second << (failures - 1)
		set(Backoff)
		s.logf("failed to start (%s%s), retrying in %s", describe(ws), why, delay)
		backoff = time.After(delay)
	}
	signal := func(sig syscall.Signal, group bool) error {
		if pid == 0 {
			return errors.New("not running")
		}
		target := pid
		if group {
			target = -pid
		}
		if err := syscall.Kill(target, sig); err != nil && err != syscall.ESRCH {
			return err
		}
		return nil
	}
	beginStop := func() {
		readyStop()
		readyRes, started = nil, nil
		set(Stopping)
		signal(stopSig, *s.spec.StopAsGroup)
		kill = time.After(time.Duration(*s.spec.StopWaitSecs) * time.Second)
	}
	begin := func() {
		failures = 0
		for _, d := range s.deps {
			select {
			case <-d.ready:
				continue
			default:
			}
			set(Waiting)
			var names []string
			for _, d := range s.deps {
				select {
				case <-d.ready:
				default:
					names = append(names, d.spec.Name)
				}
			}
			s.logf("waiting for %s", strings.Join(names, ", "))
			depsOK, depsStop = make(chan struct{}), make(chan struct{})
			go waitDeps(s.deps, depsOK, depsStop)
			return
		}
		spawn()
	}

	for {
		select {
		case c := <-s.cmds:
			switch c.op {
			case opStart:
				switch state {
				case Stopped, Exited, Fatal:
					if s.sup.stopping.Load() {
						reply(c, errors.New("the init is stopping"))
						continue
					}
					begin()
					reply(c, nil)
				default:
					reply(c, fmt.Errorf("already %s", state))
				}
			case opStop:
				switch state {
				case Waiting:
					close(depsStop)
					depsOK, depsStop = nil, nil
					set(Stopped)
					reply(c, nil)
				case Backoff:
					backoff = nil
					set(Stopped)
					reply(c, nil)
				case Starting, Running:
					s.sup.Logf("stopping %s", s.spec.Name)
					failStop = false
					beginStop()
					waiters = append(waiters, c)
				case Stopping:
					failStop = false
					waiters = append(waiters, c)
				default:
					reply(c, nil)
				}
			case opSignal:
				reply(c, signal(c.sig, c.group))
			}

		case <-depsOK:
			depsOK, depsStop = nil, nil
			spawn()

		case <-backoff:
			backoff = nil
			if state == Backoff {
				spawn()
			}

		case <-started:
			started = nil
			set(Running)
			failures = 0
			if s.spec.Ready == nil || (s.spec.Ready.TCP == 0 && s.spec.Ready.Command == "") {
				s.markReady()
				s.logf("ready")
			}

		case err := <-readyRes:
			readyRes = nil
			if err == nil {
				s.markReady()
				s.logf("ready")
				continue
			}
			s.logf("%v, stopping it", err)
			failStop = true
			beginStop()

		case <-kill:
			kill = nil
			if state == Stopping {
				s.logf("still running after stopwaitsecs=%d, sending KILL", *s.spec.StopWaitSecs)
				signal(syscall.SIGKILL, *s.spec.KillAsGroup)
			}

		case ws := <-exited:
			prev := state
			readyStop()
			readyRes, started, kill, exited = nil, nil, nil, nil
			if prev == Stopping && *s.spec.KillAsGroup {
				// A stopped service leaves no stray process behind.
				syscall.Kill(-pid, syscall.SIGKILL)
			}
			pid = 0
			s.mu.Lock()
			s.lastExit = describe(ws)
			s.readyNow = false
			s.expectEnd = false
			s.mu.Unlock()
			expected := ws.Exited() && slices.Contains(s.spec.ExitCodes, ws.ExitStatus())
			switch {
			case prev == Stopping && failStop:
				failStop = false
				afterFailure(ws, ", not ready in time")
			case prev == Stopping:
				set(Stopped)
				s.logf("stopped (%s)", describe(ws))
				for _, w := range waiters {
					reply(w, nil)
				}
				waiters = nil
			case s.spec.OneShot && expected:
				set(Exited)
				s.mu.Lock()
				s.expectEnd = true
				s.mu.Unlock()
				s.logf("exited (%s), done", describe(ws))
				s.markReady()
			case s.spec.OneShot:
				set(Fatal)
				s.logf("FATAL: failed (%s)", describe(ws))
				if s.spec.Critical {
					s.sup.fail(s.spec.Name, ExitCode(ws))
				}
			case prev == Starting:
				afterFailure(ws, " before startsecs")
			default:
				restart := s.spec.Autorestart == runspec.RestartAlways ||
					(s.spec.Autorestart == runspec.RestartUnexpected && !expected)
				set(Exited)
				how := "expected"
				if !expected {
					how = "unexpected"
				}
				if restart {
					s.logf("exited (%s, %s), restarting", describe(ws), how)
					spawn()
					continue
				}
				s.logf("exited (%s, %s)", describe(ws), how)
				if expected {
					s.mu.Lock()
					s.expectEnd = true
					s.mu.Unlock()
				} else if s.spec.Critical {
					s.sup.fail(s.spec.Name, ExitCode(ws))
				}
			}
		}
	}
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

// start forks one process of the service (its command or its readiness
// command) with the service's user, directory and environment, in its own
// process group, with stdin /dev/null and output prefixed.
func (s *service) start(cmdline, prefix string) (int, <-chan syscall.WaitStatus, error) {
	argv, err := SplitWords(cmdline)
	if err != nil {
		return 0, nil, err
	}
	extra := map[string]string{}
	sys := &syscall.SysProcAttr{Setpgid: true}
	if s.spec.User != "" {
		u := s.sup.users[s.spec.User]
		groups := make([]uint32, len(u.Groups))
		for i, g := range u.Groups {
			groups[i] = uint32(g)
		}
		sys.Credential = &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: groups}
		extra["HOME"], extra["USER"], extra["LOGNAME"] = u.Home, u.Name, u.Name
	}
	for k, v := range s.spec.Environment {
		extra[k] = v
	}
	env := mergeEnv(s.sup.opts.Env, extra)
	path := envValue(env, "PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	argv0, err := lookPath(argv[0], path)
	if err != nil {
		return 0, nil, err
	}
	stdout, err := s.sup.startOutput(s.sup.opts.Stdout, prefix)
	if err != nil {
		return 0, nil, err
	}
	defer stdout.Close()
	stderr, err := s.sup.startOutput(s.sup.opts.Stderr, prefix)
	if err != nil {
		return 0, nil, err
	}
	defer stderr.Close()
	attr := &syscall.ProcAttr{
		Dir:   s.spec.Directory,
		Env:   env,
		Files: []uintptr{s.sup.null.Fd(), stdout.Fd(), stderr.Fd()},
		Sys:   sys,
	}
	pid, ch, err := s.sup.opts.Reaper.ForkExec(argv0, argv, attr)
	if err != nil {
		where := ""
		if attr.Dir != "" {
			where += " in " + attr.Dir
		}
		if s.spec.User != "" {
			where += " as " + s.spec.User
		}
		return 0, nil, fmt.Errorf("%s%s: %w", argv0, where, err)
	}
	return pid, ch, nil
}

// checkReady polls the service's readiness check until it passes or its
// timeout runs out, and sends nil or the reason on res.
func (s *service) checkReady(ctx context.Context, res chan<- error) {
	r := s.spec.Ready
	timeout := time.Duration(r.Timeout) * time.Second
	deadline := time.Now().Add(timeout)
	interval := 100 * time.Millisecond
	if r.TCP == 0 {
		interval = 250 * time.Millisecond
	}
	for {
		var ok bool
		if r.TCP != 0 {
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.TCP)), time.Second)
			if err == nil {
				c.Close()
				ok = true
			}
		} else {
			ok = s.probe(ctx, r.Command, time.Until(deadline))
		}
		if ok {
			res <- nil
			return
		}
		if time.Now().After(deadline) {
			res <- fmt.Errorf("not ready after %s", timeout)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// probe runs a readiness command once and reports whether it exited 0.
func (s *service) probe(ctx context.Context, cmdline string, limit time.Duration) bool {
	pid, ch, err := s.start(cmdline, s.spec.Name+" ready | ")
	if err != nil {
		return false
	}
	t := time.NewTimer(max(limit, 100*time.Millisecond))
	defer t.Stop()
	select {
	case ws := <-ch:
		return ws.Exited() && ws.ExitStatus() == 0
	case <-ctx.Done():
	case <-t.C:
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	<-ch
	return false
}
