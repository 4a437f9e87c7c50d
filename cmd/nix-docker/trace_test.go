package main

import (
	"bytes"
	"regexp"
	"testing"
	"time"
)

// TestTracer: NIX_DOCKER_TRACE set gives one line per step on stderr,
// when it started and how long it took; unset or "0", no trace.
func TestTracer(t *testing.T) {
	for _, v := range []string{"", "0"} {
		t.Setenv("NIX_DOCKER_TRACE", v)
		if tracer(&bytes.Buffer{}) != nil {
			t.Errorf("NIX_DOCKER_TRACE=%q: a tracer, want none", v)
		}
	}
	t.Setenv("NIX_DOCKER_TRACE", "1")
	var buf bytes.Buffer
	trace := tracer(&buf)
	if trace == nil {
		t.Fatal("NIX_DOCKER_TRACE=1: no tracer")
	}
	trace("nix-build", 1500*time.Millisecond)
	if !regexp.MustCompile(`^trace: +-?\d+\.\d{3}s +1500\.0ms  nix-build\n$`).MatchString(buf.String()) {
		t.Errorf("trace line %q, want the start, 1500.0ms and the step", buf.String())
	}
}
