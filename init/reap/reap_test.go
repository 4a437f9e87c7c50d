package reap

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if err := SetSubreaper(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot become a subreaper:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// TestNoLostStatus starts many short-lived children, each of which also
// leaves an orphan, concurrently, and checks that every child's own
// status arrives while the orphans are collected.
func TestNoLostStatus(t *testing.T) {
	r := Start()
	before := r.Orphans()
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := i % 100
			argv := []string{"/bin/sh", "-c", fmt.Sprintf("(true &); exit %d", code)}
			_, ch, err := r.ForkExec(argv[0], argv, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
			if err != nil {
				errs <- err
				return
			}
			select {
			case ws := <-ch:
				if !ws.Exited() || ws.ExitStatus() != code {
					errs <- fmt.Errorf("child %d: status %v, want exit %d", i, ws, code)
				}
			// A lost status never arrives; 60 s only bounds the wait, it is
			// no speed budget (200 shells on a loaded 2-core machine).
			case <-time.After(60 * time.Second):
				errs <- fmt.Errorf("child %d: no status after 60s", i)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Orphans()-before < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := r.Orphans() - before; got < n {
		t.Errorf("%d orphans reaped, want %d", got, n)
	}
}

// TestReaped: the channel taken before a child exits is closed once the
// child has been collected, and a fresh one is handed out after.
func TestReaped(t *testing.T) {
	r := Start()
	ch := r.Reaped()
	argv := []string{"/bin/sh", "-c", "exit 0"}
	_, exited, err := r.ForkExec(argv[0], argv, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("Reaped() not closed 10s after a child exited")
	}
	if ws := <-exited; !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("status %v, want exit 0", ws)
	}
	if r.Reaped() == ch {
		t.Errorf("Reaped() returned the closed channel again")
	}
}
