package runspec

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

// Version is the runspec format version. The builder writes it, the init
// refuses any other.
const Version = 1

// Autorestart policies, with supervisord's names and meanings.
const (
	RestartUnexpected = "unexpected" // restart when the exit code is not in ExitCodes
	RestartAlways     = "true"
	RestartNever      = "false"
)

// Spec is the whole document.
type Spec struct {
	Version     int         `json:"version"`
	Services    []Service   `json:"services"`
	Users       []User      `json:"users,omitempty"`
	Groups      []Group     `json:"groups,omitempty"`
	Directories []Directory `json:"directories,omitempty"`
}

// Service is one supervised program. Field names follow supervisord's
// [program:x] options.
type Service struct {
	Name string `json:"name"`
	// Command is a command line, split into words like a shell would
	// (quotes and backslashes; no expansion), as supervisord does.
	Command     string            `json:"command"`
	Environment map[string]string `json:"environment,omitempty"`
	Directory   string            `json:"directory,omitempty"`
	User        string            `json:"user,omitempty"`
	// After lists the services that must be ready before this one starts.
	After []string `json:"after,omitempty"`
	Ready *Ready   `json:"ready,omitempty"`

	// OneShot services run to completion; dependants start after they exit
	// with one of ExitCodes. They are never restarted.
	OneShot bool `json:"oneshot,omitempty"`
	// Critical: when the service fails for good, the container exits with
	// its exit code (or 128+signal).
	Critical bool `json:"critical,omitempty"`

	Autorestart  string `json:"autorestart,omitempty"`
	StartSecs    *int   `json:"startsecs,omitempty"`
	StartRetries *int   `json:"startretries,omitempty"`
	ExitCodes    []int  `json:"exitcodes,omitempty"`
	StopSignal   string `json:"stopsignal,omitempty"`
	StopWaitSecs *int   `json:"stopwaitsecs,omitempty"`
	StopAsGroup  *bool  `json:"stopasgroup,omitempty"`
	KillAsGroup  *bool  `json:"killasgroup,omitempty"`
	// Signals lists the signals (HUP, USR1, USR2) the init forwards to this
	// service when the container receives them.
	Signals []string `json:"signals,omitempty"`
}

// Ready says how to tell that a service is up.
type Ready struct {
	TCP     int    `json:"tcp,omitempty"`     // a port on 127.0.0.1 accepts connections
	Command string `json:"command,omitempty"` // a command exits 0
	Timeout int    `json:"timeout,omitempty"` // seconds; 0 means DefaultReadyTimeout
}

// User is an account the init can run a service as.
type User struct {
	Name   string `json:"name"`
	UID    int    `json:"uid"`
	GID    int    `json:"gid"`
	Home   string `json:"home"`
	Groups []int  `json:"groups,omitempty"` // supplementary group IDs
}

// Group is a group of users.
type Group struct {
	Name string `json:"name"`
	GID  int    `json:"gid"`
}

// Directory is created by the init before any service starts.
type Directory struct {
	Path  string `json:"path"`
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
	Mode  uint32 `json:"mode"`
}

// Defaults, as in supervisord, except StopAsGroup/KillAsGroup which default
// to true: a service's whole process group is signalled.
const (
	DefaultStartSecs    = 1
	DefaultStartRetries = 3
	DefaultStopWaitSecs = 10
	DefaultStopSignal   = "TERM"
	DefaultReadyTimeout = 60
)

func intp(i int) *int    { return &i }
func boolp(b bool) *bool { return &b }

// ApplyDefaults fills every unset option with its default, so that the
// document the builder writes is explicit and the init reads no implicit
// values.
func (s *Service) ApplyDefaults() {
	if s.Autorestart == "" {
		s.Autorestart = RestartUnexpected
	}
	if s.StartSecs == nil {
		s.StartSecs = intp(DefaultStartSecs)
	}
	if s.StartRetries == nil {
		s.StartRetries = intp(DefaultStartRetries)
	}
	if s.ExitCodes == nil {
		s.ExitCodes = []int{0}
	}
	if s.StopSignal == "" {
		s.StopSignal = DefaultStopSignal
	}
	if s.StopWaitSecs == nil {
		s.StopWaitSecs = intp(DefaultStopWaitSecs)
	}
	if s.StopAsGroup == nil {
		s.StopAsGroup = boolp(true)
	}
	if s.KillAsGroup == nil {
		s.KillAsGroup = boolp(true)
	}
	if s.Ready != nil && s.Ready.Timeout == 0 {
		s.Ready.Timeout = DefaultReadyTimeout
	}
}

// StopSignals are the names stopsignal takes, as in supervisord.
var StopSignals = []string{"TERM", "INT", "QUIT", "HUP", "KILL", "USR1", "USR2"}

// ForwardSignals are the names `signals` takes: the signals the init passes
// on to services (TERM and INT stop the whole container instead).
var ForwardSignals = []string{"HUP", "USR1", "USR2"}

// Validate checks what both sides rely on: a known version, unique service
// names, known `after` targets, users and groups, signal names, a ready
// check with exactly one of tcp and command, one-shot services that are
// not restarted, and no dependency cycle.
func (sp *Spec) Validate() error {
	if sp.Version != Version {
		return fmt.Errorf("runspec version %d, this init understands %d", sp.Version, Version)
	}
	users := map[string]bool{}
	for _, u := range sp.Users {
		users[u.Name] = true
	}
	groups := map[string]bool{}
	for _, g := range sp.Groups {
		groups[g.Name] = true
	}
	for _, d := range sp.Directories {
		if d.User != "" && !users[d.User] {
			return fmt.Errorf("directory %s belongs to unknown user %q", d.Path, d.User)
		}
		if d.Group != "" && !groups[d.Group] {
			return fmt.Errorf("directory %s belongs to unknown group %q", d.Path, d.Group)
		}
	}
	names := map[string]*Service{}
	for i := range sp.Services {
		s := &sp.Services[i]
		if s.Name == "" {
			return fmt.Errorf("service %d has no name", i)
		}
		if names[s.Name] != nil {
			return serviceErrorf(s.Name, "service %q is declared twice", s.Name)
		}
		names[s.Name] = s
		if s.Command == "" {
			return serviceErrorf(s.Name, "service %q has no command", s.Name)
		}
		if s.User != "" && !users[s.User] {
			return serviceErrorf(s.Name, "service %q runs as unknown user %q", s.Name, s.User)
		}
		switch s.Autorestart {
		case "", RestartUnexpected, RestartAlways, RestartNever:
		default:
			return serviceErrorf(s.Name, "service %q: autorestart must be true, false or unexpected, not %q", s.Name, s.Autorestart)
		}
		if s.OneShot && s.Autorestart == RestartAlways {
			return serviceErrorf(s.Name, "service %q is one-shot and cannot have autorestart true", s.Name)
		}
		if s.StopSignal != "" && !slices.Contains(StopSignals, s.StopSignal) {
			return serviceErrorf(s.Name, "service %q: stopsignal must be one of %s, not %q", s.Name, strings.Join(StopSignals, " "), s.StopSignal)
		}
		for _, sig := range s.Signals {
			if !slices.Contains(ForwardSignals, sig) {
				return serviceErrorf(s.Name, "service %q: signals may list %s, not %q", s.Name, strings.Join(ForwardSignals, " "), sig)
			}
		}
		if r := s.Ready; r != nil {
			if (r.TCP != 0) == (r.Command != "") {
				return serviceErrorf(s.Name, "service %q: ready needs exactly one of tcp and command", s.Name)
			}
			if r.TCP < 0 || r.TCP > 65535 {
				return serviceErrorf(s.Name, "service %q: ready tcp port %d is out of range", s.Name, r.TCP)
			}
			if r.Timeout < 0 {
				return serviceErrorf(s.Name, "service %q: ready timeout %d is negative", s.Name, r.Timeout)
			}
		}
	}
	for _, s := range sp.Services {
		for _, a := range s.After {
			if names[a] == nil {
				return serviceErrorf(s.Name, "service %q starts after unknown service %q", s.Name, a)
			}
		}
	}
	_, err := sp.StartOrder()
	return err
}

// ServiceError is a problem with one service of a spec.
type ServiceError struct {
	Service string // the service's name
	Err     error
}

func (e *ServiceError) Error() string { return e.Err.Error() }
func (e *ServiceError) Unwrap() error { return e.Err }

func serviceErrorf(name, format string, args ...any) error {
	return &ServiceError{Service: name, Err: fmt.Errorf(format, args...)}
}

// CycleError is a dependency cycle: each service in Cycle starts after
// the next, and the last is the first again.
type CycleError struct {
	Cycle []string
}

func (e *CycleError) Error() string {
	return fmt.Sprintf("services start after each other in a cycle: %v", e.Cycle)
}

// StartOrder returns the service names so that each comes after everything
// in its After list; ties are broken by name, so the order is stable. A
// dependency cycle is a *CycleError.
func (sp *Spec) StartOrder() ([]string, error) {
	deps := map[string][]string{}
	for _, s := range sp.Services {
		deps[s.Name] = s.After
	}
	names := make([]string, 0, len(deps))
	for n := range deps {
		names = append(names, n)
	}
	sort.Strings(names)
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var order []string
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case done:
			return nil
		case visiting:
			cycle := append(append([]string(nil), path[slices.Index(path, n):]...), n)
			return &CycleError{Cycle: cycle}
		}
		state[n] = visiting
		after := append([]string(nil), deps[n]...)
		sort.Strings(after)
		for _, d := range after {
			if err := visit(d, append(path, n)); err != nil {
				return err
			}
		}
		state[n] = done
		order = append(order, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// Read loads and validates a spec file.
func Read(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sp Spec
	if err := json.Unmarshal(b, &sp); err != nil {
		return nil, fmt.Errorf("reading runspec %s: %w", path, err)
	}
	if err := sp.Validate(); err != nil {
		return nil, fmt.Errorf("runspec %s: %w", path, err)
	}
	for i := range sp.Services {
		sp.Services[i].ApplyDefaults()
	}
	return &sp, nil
}
