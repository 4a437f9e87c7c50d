package main

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// status answers every request with one idle service's status. (A real
// Supervisor would start package reap's loop, which must not run in this
// test binary: it would collect the docker commands the other tests run.)
type status struct{}

func (status) Control(op, name, sig string) (string, error) { return "idle STOPPED\n", nil }

// listen starts a control socket.
func listen(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctl.sock")
	l, err := listenControl(path, status{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return path
}

// exchange sends req and returns the reply, or fails after 30 s.
func exchange(t *testing.T, path, req string) ctlReply {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if req != "" {
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
	}
	var rep ctlReply
	if err := json.NewDecoder(c).Decode(&rep); err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	return rep
}

// TestControlLimits: a request larger than ctlMaxRequest, or one that does
// not arrive within ctlReadTimeout, gets an error reply and the connection
// is closed, instead of holding a goroutine and memory.
func TestControlLimits(t *testing.T) {
	defer func(d time.Duration) { ctlReadTimeout = d }(ctlReadTimeout)
	ctlReadTimeout = 200 * time.Millisecond
	path := listen(t)
	if rep := exchange(t, path, `{"op":"status"}`+"\n"); rep.Error != "" || !strings.Contains(rep.Output, "idle") {
		t.Errorf("status = %+v", rep)
	}
	big := `{"op":"status","name":"` + strings.Repeat("x", 2*ctlMaxRequest) + `"}` + "\n"
	if rep := exchange(t, path, big); !strings.Contains(rep.Error, "bad request") {
		t.Errorf("a %d-byte request: %+v, want a bad request error", len(big), rep)
	}
	if rep := exchange(t, path, ""); !strings.Contains(rep.Error, "bad request") {
		t.Errorf("no request: %+v, want a bad request error after the read timeout", rep)
	}
	if rep := exchange(t, path, `{"op":"status","bogus":1}`+"\n"); !strings.Contains(rep.Error, "unknown field") {
		t.Errorf("an unknown field: %+v, want an error", rep)
	}
}
