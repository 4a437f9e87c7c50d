package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// started is when this process began, as the trace counts.
var started = time.Now()

// tracer returns the build's trace when NIX_DOCKER_TRACE is set (to
// anything but "" or "0"): one line on stderr per step (Nix, the layer
// digests, each Engine API request), when it started since nix-docker
// did and how long it took. Otherwise nil: no trace.
func tracer(stderr io.Writer) func(what string, took time.Duration) {
	if v := os.Getenv("NIX_DOCKER_TRACE"); v == "" || v == "0" {
		return nil
	}
	var mu sync.Mutex
	return func(what string, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		at := time.Since(started) - took
		fmt.Fprintf(stderr, "trace: %7.3fs %8.1fms  %s\n", at.Seconds(), float64(took.Microseconds())/1000, what)
	}
}
