package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nix-docker/nix-docker/init/reap"
	"github.com/nix-docker/nix-docker/init/supervise"
	"github.com/nix-docker/nix-docker/internal/runspec"
)

// drainTime bounds how long output still in the pipes is copied after the
// services have stopped.
const drainTime = 500 * time.Millisecond

func runInit(path string) int {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
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
	for {
		select {
		case sig := <-sigs:
			s := sig.(syscall.Signal)
			switch s {
			case syscall.SIGTERM, syscall.SIGINT:
				logf("received %s, stopping all services", supervise.SignalName(s))
				sup.StopAll()
				sup.Drain(drainTime)
				logf("all services stopped, exit 0")
				return 0
			default:
				sup.Forward(s)
			}
		case f := <-sup.Failed():
			logf("critical service %s failed, stopping all services", f.Service)
			sup.StopAll()
			sup.Drain(drainTime)
			logf("exit %d", f.Code)
			return f.Code
		}
	}
}
