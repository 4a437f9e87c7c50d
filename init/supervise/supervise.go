package supervise

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nix-docker/nix-docker/init/reap"
	"github.com/nix-docker/nix-docker/internal/runspec"
)

// Options are what the Supervisor needs from its surroundings.
type Options struct {
	Reaper *reap.Reaper
	// Stdout and Stderr receive the services' prefixed output; the
	// Supervisor's own state changes go to Stdout with the prefix "init | ".
	Stdout, Stderr *Output
	// Env is the base environment of every service; nil means os.Environ().
	Env []string
}

// Supervisor runs the services of one runspec.
type Supervisor struct {
	opts     Options
	spec     *runspec.Spec
	order    []*service // start order
	byName   map[string]*service
	users    map[string]runspec.User
	null     *os.File
	stopping atomic.Bool
	failed   chan Failure
	copiers  sync.WaitGroup
	readers  atomic.Int64 // output readers running
}

// New checks the spec's commands and users and prepares the services; it
// starts nothing.
func New(sp *runspec.Spec, opts Options) (*Supervisor, error) {
	if opts.Reaper == nil {
		opts.Reaper = reap.Start()
	}
	if opts.Stdout == nil {
		opts.Stdout = NewOutput(os.Stdout)
	}
	if opts.Stderr == nil {
		opts.Stderr = NewOutput(os.Stderr)
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	order, err := sp.StartOrder()
	if err != nil {
		return nil, err
	}
	closeOnExec()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	s := &Supervisor{
		opts:   opts,
		spec:   sp,
		byName: map[string]*service{},
		users:  map[string]runspec.User{},
		null:   null,
		failed: make(chan Failure, 1),
	}
	for _, u := range sp.Users {
		s.users[u.Name] = u
	}
	for i := range sp.Services {
		rs := sp.Services[i]
		rs.ApplyDefaults()
		if _, err := SplitWords(rs.Command); err != nil {
			return nil, fmt.Errorf("service %q: command: %w", rs.Name, err)
		}
		if rs.Ready != nil && rs.Ready.Command != "" {
			if _, err := SplitWords(rs.Ready.Command); err != nil {
				return nil, fmt.Errorf("service %q: ready command: %w", rs.Name, err)
			}
		}
		stopSig, err := ParseSignal(rs.StopSignal)
		if err != nil {
			return nil, fmt.Errorf("service %q: stopsignal: %w", rs.Name, err)
		}
		for _, sig := range rs.Signals {
			if _, err := ParseSignal(sig); err != nil {
				return nil, fmt.Errorf("service %q: signals: %w", rs.Name, err)
			}
		}
		svc := newService(s, rs, stopSig)
		svc.env, svc.cred = svc.environment()
		s.byName[rs.Name] = svc
	}
	for _, n := range order {
		svc := s.byName[n]
		for _, a := range svc.spec.After {
			dep := s.byName[a]
			svc.deps = append(svc.deps, dep)
			dep.dependants = append(dep.dependants, svc)
		}
		s.order = append(s.order, svc)
	}
	return s, nil
}

// Logf writes one state-change line, prefixed "init | ".
func (s *Supervisor) Logf(format string, args ...any) {
	s.opts.Stdout.Line("init | ", []byte(fmt.Sprintf(format, args...)))
}

// Start starts every service; each waits for its `after` dependencies to
// be ready. It returns at once.
func (s *Supervisor) Start() {
	for _, svc := range s.order {
		go svc.run()
	}
	for _, svc := range s.order {
		svc.cmds <- command{op: opStart}
	}
}

// Failure is a critical service that failed for good, and its exit code
// (or 128 plus the signal that killed it).
type Failure struct {
	Service string
	Code    int
}

// Failed delivers the first critical service that fails for good.
func (s *Supervisor) Failed() <-chan Failure { return s.failed }

func (s *Supervisor) fail(name string, code int) {
	select {
	case s.failed <- Failure{name, code}:
	default:
	}
}

// StopAll stops every service, each with its stop signal and then KILL
// after stopwaitsecs, and starts nothing more. A service is stopped once
// every service that starts after it has stopped; independent services
// stop at the same time.
func (s *Supervisor) StopAll() {
	s.stopping.Store(true)
	s.stopGraph(s.order)
}

// KillAll sends KILL to the process group of every service, for a second
// TERM during a stop.
func (s *Supervisor) KillAll() {
	for _, svc := range s.order {
		svc.call(command{op: opKill})
	}
}

// stopGraph stops targets, each after those of its dependants that are
// among targets, and returns the errors.
func (s *Supervisor) stopGraph(targets []*service) []error {
	done := map[*service]chan struct{}{}
	for _, svc := range targets {
		done[svc] = make(chan struct{})
	}
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, svc := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[svc])
			for _, d := range svc.dependants {
				if ch, ok := done[d]; ok {
					<-ch
				}
			}
			if err := svc.call(command{op: opStop}); err != nil {
				errs[i] = fmt.Errorf("%s: %w", svc.spec.Name, err)
			}
		}()
	}
	wg.Wait()
	return errs
}

// Drain waits up to d for the services' output to be copied; descendants
// that keep a pipe open are not waited for longer.
func (s *Supervisor) Drain(d time.Duration) {
	done := make(chan struct{})
	go func() { s.copiers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// Forward sends sig to the main process of every service that lists it in
// `signals`.
func (s *Supervisor) Forward(sig syscall.Signal) {
	for _, svc := range s.order {
		for _, name := range svc.spec.Signals {
			if want, _ := ParseSignal(name); want == sig {
				svc.cmds <- command{op: opSignal, sig: sig, group: false}
			}
		}
	}
}

// Control runs one control request: status, start, stop, restart or
// signal, or health.
func (s *Supervisor) Control(op, name, sig string) (string, error) {
	switch op {
	case "status":
		return s.status(), nil
	case "health":
		var bad []string
		for _, svc := range s.order {
			if !svc.healthy() {
				bad = append(bad, svc.spec.Name)
			}
		}
		if len(bad) > 0 {
			return "", fmt.Errorf("not ready: %s", strings.Join(bad, ", "))
		}
		return "ok\n", nil
	}
	var targets []*service
	if name == runspec.ReservedName {
		targets = s.order
	} else if svc := s.byName[name]; svc != nil {
		targets = []*service{svc}
	} else {
		return "", fmt.Errorf("no service %q", name)
	}
	if s.stopping.Load() && op != "stop" {
		return "", errors.New("the init is stopping")
	}
	var out strings.Builder
	var errs []error
	if len(targets) > 1 && (op == "stop" || op == "restart") {
		// Stop dependants before their dependencies, as StopAll does.
		errs = s.stopGraph(targets)
		if op == "stop" {
			for _, svc := range targets {
				fmt.Fprintf(&out, "%s: stop ok\n", svc.spec.Name)
			}
			return out.String(), errors.Join(errs...)
		}
		op = "start"
	}
	for _, svc := range targets {
		var err error
		switch op {
		case "start":
			err = svc.call(command{op: opStart})
		case "stop":
			err = svc.call(command{op: opStop})
		case "restart":
			if err = svc.call(command{op: opStop}); err == nil {
				err = svc.call(command{op: opStart})
			}
		case "signal":
			var sg syscall.Signal
			if sg, err = ParseSignal(sig); err == nil {
				err = svc.call(command{op: opSignal, sig: sg, group: *svc.spec.StopAsGroup})
			}
		default:
			return "", fmt.Errorf("unknown command %q", op)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", svc.spec.Name, err))
		} else {
			fmt.Fprintf(&out, "%s: %s\n", svc.spec.Name, op+" ok")
		}
	}
	return out.String(), errors.Join(errs...)
}

func (s *Supervisor) status() string {
	var b strings.Builder
	for _, svc := range s.order {
		svc.mu.Lock()
		st, pid, since, last := svc.state, svc.pid, svc.since, svc.lastExit
		svc.mu.Unlock()
		detail := ""
		switch {
		case pid > 0:
			detail = fmt.Sprintf("pid %d, uptime %s", pid, time.Since(since).Truncate(time.Second))
		case last != "":
			detail = last
		}
		fmt.Fprintf(&b, "%-20s %-9s %s\n", svc.spec.Name, st, detail)
	}
	return b.String()
}

// Status returns each service's state in start order, for tests and ctl.
func (s *Supervisor) Status() map[string]State {
	m := map[string]State{}
	for _, svc := range s.order {
		svc.mu.Lock()
		m[svc.spec.Name] = svc.state
		svc.mu.Unlock()
	}
	return m
}
