package reap

import (
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
)

// Reaper is the single owner of wait in the process.
type Reaper struct {
	// mu is held while a child is forked and registered and while the loop
	// waits, so that a child that exits at once is never taken for an
	// orphan.
	mu      sync.Mutex
	waiters map[int]chan syscall.WaitStatus
	orphans atomic.Int64
	wake    chan os.Signal
	// reaped is closed, and replaced, after each round that collected a
	// process; see Reaped.
	reaped chan struct{}
}

var (
	once    sync.Once
	started *Reaper
)

// Start installs the SIGCHLD handler and the reap loop, once per process;
// later calls return the same Reaper.
func Start() *Reaper {
	once.Do(func() {
		r := &Reaper{
			waiters: map[int]chan syscall.WaitStatus{},
			wake:    make(chan os.Signal, 1),
			reaped:  make(chan struct{}),
		}
		signal.Notify(r.wake, syscall.SIGCHLD)
		go r.loop()
		started = r
	})
	return started
}

// ForkExec starts a child like syscall.ForkExec and returns a channel that
// receives its wait status once.
func (r *Reaper) ForkExec(argv0 string, argv []string, attr *syscall.ProcAttr) (int, <-chan syscall.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := syscall.ForkExec(argv0, argv, attr)
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan syscall.WaitStatus, 1)
	r.waiters[pid] = ch
	return pid, ch, nil
}

// Orphans is the number of children reaped that nobody started through
// ForkExec: re-parented grandchildren.
func (r *Reaper) Orphans() int64 { return r.orphans.Load() }

// Reaped returns a channel that is closed once a process exits and has
// been collected after the call: take it, then look at what may have
// changed (a process group that may be empty now), then wait on it.
func (r *Reaper) Reaped() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reaped
}

func (r *Reaper) loop() {
	for range r.wake {
		r.reap()
	}
}

func (r *Reaper) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	collected := false
	defer func() {
		if collected {
			close(r.reaped)
			r.reaped = make(chan struct{})
		}
	}()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		collected = true
		if !ws.Exited() && !ws.Signaled() {
			continue // stopped or continued; still alive
		}
		if ch, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			ch <- ws
		} else {
			r.orphans.Add(1)
		}
	}
}

// SetSubreaper makes orphaned descendants re-parent to this process
// instead of to PID 1, for when the init does not run as PID 1.
func SetSubreaper() error {
	const prSetChildSubreaper = 36
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
