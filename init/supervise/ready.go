package supervise

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"
)

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
// Whatever the command leaves in its process group is KILLed, and its
// pipes are closed.
func (s *service) probe(ctx context.Context, cmdline string, limit time.Duration) bool {
	p, err := s.start(cmdline, s.spec.Name+" ready | ")
	if err != nil {
		return false
	}
	defer p.out.drain(outputDrain)
	t := time.NewTimer(max(limit, 100*time.Millisecond))
	defer t.Stop()
	select {
	case ws := <-p.exited:
		syscall.Kill(-p.pid, syscall.SIGKILL)
		return ws.Exited() && ws.ExitStatus() == 0
	case <-ctx.Done():
	case <-t.C:
	}
	syscall.Kill(-p.pid, syscall.SIGKILL)
	<-p.exited
	return false
}
