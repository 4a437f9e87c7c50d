package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"syscall"
	"time"

	"github.com/nix-docker/nix-docker/init/reap"
	"github.com/nix-docker/nix-docker/init/supervise"
	"github.com/nix-docker/nix-docker/internal/runspec"
)

// drainTime bounds how long output still in the pipes is copied after the
// services have stopped.
const drainTime = 500 * time.Millisecond

// stopSignals stop the container; a second one during the stop KILLs every
// service's process group.
var stopSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT}

// ignoredSignals would make the Go runtime exit with a stack dump; the init
// logs them and carries on.
var ignoredSignals = []os.Signal{syscall.SIGABRT, syscall.SIGTRAP, syscall.SIGSYS, syscall.Signal(0x10) /* SIGSTKFLT */}

// gcPercent keeps the init's heap small: its live data is a few hundred
// kB, and the Go default (100) lets the heap grow to 4 MB before the first
// collection, which doubled the RSS of a service restarted a thousand times.
const gcPercent = 25

func runInit(path string) int {
	debug.SetGCPercent(gcPercent)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, append(append([]os.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2}, stopSignals...), ignoredSignals...)...)
	// A closed stdout must not kill the init; the handler is reset in
	// children, unlike an ignored signal.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	out := supervise.NewOutput(os.Stdout)
	logf := func(format string, args ...any) {
		out.Line("init | ", []byte(fmt.Sprintf(format, args...)))
	}
	if os.Getpid() != 1 {
		if err := reap.SetSubreaper(); err != nil {
			logf("warning: not PID 1 and cannot become a subreaper (%v); orphans go to the real PID 1", err)
		} else {
			logf("warning: not PID 1 (pid %d); reaping orphans as a child subreaper", os.Getpid())
		}
	}
	r := reap.Start()

	sp, err := runspec.Read(path)
	if err != nil {
		logf("error: %v", err)
		return 1
	}
	if err := supervise.Setup(sp, "/"); err != nil {
		logf("error: setting up the file system: %v", err)
		return 1
	}
	sup, err := supervise.New(sp, supervise.Options{
		Reaper: r,
		Stdout: out,
		Stderr: supervise.NewOutput(os.Stderr),
	})
	if err != nil {
		logf("error: %v", err)
		return 1
	}
	if l, err := listenControl(socketPath(), sup); err != nil {
		logf("warning: no control socket: %v", err)
	} else {
		defer l.Close()
	}

	sup.Start()
	code := -1
	for code < 0 {
		select {
		case sig := <-sigs:
			s := sig.(syscall.Signal)
			switch {
			case slices.Contains(stopSignals, sig):
				logf("received %s, stopping all services", supervise.SignalName(s))
				code = 0
			case slices.Contains(ignoredSignals, sig):
				logf("warning: ignoring %s", supervise.SignalName(s))
			default:
				sup.Forward(s)
			}
		case f := <-sup.Failed():
			logf("critical service %s failed, stopping all services", f.Service)
			code = f.Code
		}
	}
	stopAll(sup, sigs, logf)
	if code == 0 {
		logf("all services stopped, exit 0")
	} else {
		logf("exit %d", code)
	}
	return code
}

// stopAll stops every service; a second TERM, INT or QUIT meanwhile KILLs
// them all.
func stopAll(sup *supervise.Supervisor, sigs <-chan os.Signal, logf func(string, ...any)) {
	done := make(chan struct{})
	go func() {
		sup.StopAll()
		close(done)
	}()
	killed := false
	for {
		select {
		case <-done:
			sup.Drain(drainTime)
			return
		case sig := <-sigs:
			if !killed && slices.Contains(stopSignals, sig) {
				logf("received %s again, sending KILL to every service", supervise.SignalName(sig.(syscall.Signal)))
				killed = true
				go sup.KillAll()
			}
		}
	}
}
