package supervise

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

const (
	// killGrace bounds the wait for a process group after KILL; a process
	// stuck in the kernel is then left behind with a warning.
	killGrace = 5 * time.Second
	// outputDrain is how long the pipes of a service with leavechildren
	// (or of a readiness command) are still read once its main process has
	// exited, before what is left in them is read and they are closed. A
	// service's pipes are closed as soon as its process group is gone.
	outputDrain = 100 * time.Millisecond
	// groupPoll is how often an emptying process group is looked at when
	// no process exits meanwhile (one that leaves the group leaves no
	// trace in the reaper).
	groupPoll = 100 * time.Millisecond
)

// process is one run of a service's main process, in its own process
// group (pgid = pid), with its output pipes.
type process struct {
	pid            int
	exited         <-chan syscall.WaitStatus
	out            *pipes
	status         syscall.WaitStatus // once done
	done           bool               // the main process has exited
	groupSignalled bool               // the stop signal went to the group
	unwatch        chan struct{}      // ends watchGroup early
}

// start forks one process of the service (its command or its readiness
// command) with the service's user, directory and environment, in its own
// process group, with stdin /dev/null and output prefixed.
func (s *service) start(cmdline, prefix string) (*process, error) {
	argv, err := SplitWords(cmdline)
	if err != nil {
		return nil, err
	}
	sys := &syscall.SysProcAttr{Setpgid: true, Credential: s.cred}
	env := s.env
	path := envValue(env, "PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	argv0, err := lookPath(argv[0], path)
	if err != nil {
		return nil, err
	}
	out, w, err := s.sup.openPipes(prefix)
	if err != nil {
		return nil, err
	}
	defer w[0].Close()
	defer w[1].Close()
	attr := &syscall.ProcAttr{
		Dir:   s.spec.Directory,
		Env:   env,
		Files: []uintptr{s.sup.null.Fd(), w[0].Fd(), w[1].Fd()},
		Sys:   sys,
	}
	pid, ch, err := s.sup.opts.Reaper.ForkExec(argv0, argv, attr)
	if err != nil {
		out.drain(0)
		where := ""
		if attr.Dir != "" {
			where += " in " + attr.Dir
		}
		if s.spec.User != "" {
			where += " as " + s.spec.User
		}
		return nil, fmt.Errorf("%s%s: %w", argv0, where, err)
	}
	return &process{pid: pid, exited: ch, out: out}, nil
}

// environment returns the service's environment and credentials, the
// same for every process it starts.
func (s *service) environment() ([]string, *syscall.Credential) {
	extra := map[string]string{}
	var cred *syscall.Credential
	if s.spec.User != "" {
		u := s.sup.users[s.spec.User]
		groups := make([]uint32, len(u.Groups))
		for i, g := range u.Groups {
			groups[i] = uint32(g)
		}
		cred = &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: groups}
		extra["HOME"], extra["USER"], extra["LOGNAME"] = u.Home, u.Name, u.Name
	}
	for k, v := range s.spec.Environment {
		extra[k] = v
	}
	return mergeEnv(s.sup.opts.Env, extra), cred
}

// signal sends sig to the main process, or to its whole group.
func (s *service) signal(sig syscall.Signal, group bool) error {
	p := s.m.proc
	if p == nil || p.done {
		return errors.New("not running")
	}
	target := p.pid
	if group {
		target = -p.pid
	}
	if err := syscall.Kill(target, sig); err != nil && err != syscall.ESRCH {
		return err
	}
	return nil
}

// groupAlive tells whether process group pgid has a process left.
func groupAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) != syscall.ESRCH
}

// watchGroup returns a channel closed once p's process group is empty. It
// looks again whenever the reaper collects a process, and every groupPoll.
func (s *service) watchGroup(p *process) <-chan struct{} {
	gone := make(chan struct{})
	p.unwatch = make(chan struct{})
	go func(unwatch chan struct{}) {
		t := time.NewTicker(groupPoll)
		defer t.Stop()
		for {
			reaped := s.sup.opts.Reaper.Reaped()
			if !groupAlive(p.pid) {
				close(gone)
				return
			}
			select {
			case <-reaped:
			case <-t.C:
			case <-unwatch:
				return
			}
		}
	}(p.unwatch)
	return gone
}

// endWatch stops watchGroup, if it runs.
func (p *process) endWatch() {
	if p.unwatch != nil {
		close(p.unwatch)
		p.unwatch = nil
	}
}
