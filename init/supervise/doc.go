// Package supervise runs a runspec's services with supervisord's options
// and meanings: start in `after` order behind readiness checks, restart by
// autorestart/exitcodes/startsecs/startretries with a capped backoff, a
// least delay between restarts and a rate limit (systemd's RestartSec and
// start limit), stop along the dependency graph (independent services at
// once) with stopsignal, stopwaitsecs and SIGKILL to the process group,
// stop what a main process leaves in its group when it exits, and prefix
// every line of output with the service's name, closing a service's pipes
// once it has gone. It also makes the declared directories without
// following links (Setup).
//
// Each service is a state machine run by one goroutine (service.run),
// with one method per event: a command, its dependencies ready, a timer,
// a readiness verdict, the main process's exit, its group gone.
//
// It never waits for a child itself: every process is started through
// package reap, which owns wait. Signals to the init and the exit code are
// left to package main.
package supervise
