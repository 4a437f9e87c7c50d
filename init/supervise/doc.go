// Package supervise runs a runspec's services with supervisord's options
// and meanings: start in `after` order behind readiness checks, restart by
// autorestart/exitcodes/startsecs/startretries, stop in reverse order with
// stopsignal, stopwaitsecs and SIGKILL to the process group, and prefix
// every line of output with the service's name.
//
// It never waits for a child itself: every process is started through
// package reap, which owns wait. Signals to the init and the exit code are
// left to package main.
package supervise
