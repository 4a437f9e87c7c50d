package supervise

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/nix-docker/nix-docker/internal/runspec"
)

// SplitWords splits a command line into words: runspec.SplitWords, the
// rule the builder checks commands by when it reads the app file.
func SplitWords(s string) ([]string, error) { return runspec.SplitWords(s) }

// lookPath finds file in the directories of path, like exec.LookPath but
// with the service's own PATH.
func lookPath(file, path string) (string, error) {
	if strings.Contains(file, "/") {
		return file, executable(file)
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + file
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH %s", file, path)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s: not an executable file", p)
	}
	return nil
}

// mergeEnv returns base with the entries of add set, sorted by name.
func mergeEnv(base []string, add map[string]string) []string {
	m := map[string]string{}
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	for k, v := range add {
		m[k] = v
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, len(keys))
	for i, k := range keys {
		env[i] = k + "=" + m[k]
	}
	return env
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

var signals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT,
	"KILL": syscall.SIGKILL, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
	"TERM": syscall.SIGTERM, "STOP": syscall.SIGSTOP, "CONT": syscall.SIGCONT,
	"WINCH": syscall.SIGWINCH, "ALRM": syscall.SIGALRM, "ABRT": syscall.SIGABRT,
	"PWR": syscall.SIGPWR, "SEGV": syscall.SIGSEGV, "BUS": syscall.SIGBUS,
	"FPE": syscall.SIGFPE, "ILL": syscall.SIGILL, "PIPE": syscall.SIGPIPE,
	"TRAP": syscall.SIGTRAP, "SYS": syscall.SIGSYS, "XCPU": syscall.SIGXCPU,
	"XFSZ": syscall.SIGXFSZ,
}

// ParseSignal accepts a name with or without SIG (any case) or a number.
func ParseSignal(s string) (syscall.Signal, error) {
	u := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if sig, ok := signals[u]; ok {
		return sig, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// SignalName is the short name of sig, such as TERM.
func SignalName(sig syscall.Signal) string {
	for n, s := range signals {
		if s == sig {
			return n
		}
	}
	return strconv.Itoa(int(sig))
}

// ExitCode turns a wait status into a shell-style code: the exit code, or
// 128 plus the signal.
func ExitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "signal " + SignalName(ws.Signal())
	}
	return "exit " + strconv.Itoa(ws.ExitStatus())
}
