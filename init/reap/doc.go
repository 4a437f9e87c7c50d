// Package reap owns wait in the init. One loop calls wait4(-1) on every
// SIGCHLD, collects orphans and hands each supervised child's exit status
// to whoever started it through ForkExec. Nothing else in the process may
// wait for children: exec.Cmd.Wait and os.Process.Wait would race with the
// loop and lose statuses (see hashicorp/go-reap's doc comment).
//
// It leaves deciding what an exit means to package supervise.
package reap
