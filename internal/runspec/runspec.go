package runspec

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
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

	// The options below have their defaults applied by the accessors
	// (RestartDelay, StartLimit, MaxBackoff), not by ApplyDefaults, so that
	// documents written before they existed, and the builder's output for
	// services that do not set them, stay as they were.

	// LeaveChildren leaves what remains of the service's process group
	// running when its main process exits (systemd's KillMode=process).
	// By default the rest of the group gets StopSignal, then KILL after
	// StopWaitSecs, like a systemd unit's control group.
	LeaveChildren bool `json:"leavechildren,omitempty"`
	// RestartSec is the least time, in seconds, between an exit and the
	// automatic restart that follows it (systemd's RestartSec).
	RestartSec *float64 `json:"restartsec,omitempty"`
	// StartLimitBurst and StartLimitIntervalSec limit automatic restarts:
	// more than StartLimitBurst of them in StartLimitIntervalSec seconds
	// make the service FATAL (systemd's options of the same names).
	StartLimitBurst       *int `json:"startlimitburst,omitempty"`
	StartLimitIntervalSec *int `json:"startlimitintervalsec,omitempty"`
	// MaxBackoffSecs caps the wait between failed starts, which doubles
	// from 1 s.
	MaxBackoffSecs *int `json:"maxbackoffsecs,omitempty"`
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

	// DefaultRestartSec is systemd's RestartSec default: at most ten
	// automatic restarts a second.
	DefaultRestartSec = 0.1
	// MinRestartSec is the least RestartSec accepted, so that no setting
	// restarts a service more than 100 times a second.
	MinRestartSec = 0.01
	// DefaultStartLimitBurst and DefaultStartLimitIntervalSec are
	// systemd's: a sixth automatic restart within 10 s makes the service
	// FATAL.
	DefaultStartLimitBurst       = 5
	DefaultStartLimitIntervalSec = 10
	// DefaultMaxBackoffSecs caps the doubling wait between failed starts
	// (1, 2, 4 ... 32, 60, 60 s), as Docker caps its restart delay.
	DefaultMaxBackoffSecs = 60
	// MaxSecs bounds every option given in seconds (about 11.5 days), so
	// that no duration overflows.
	MaxSecs = 1000000

	// DockerStopTimeout is how long `docker stop` waits, by default, before
	// it KILLs the container.
	DockerStopTimeout = 10
)

// ReservedName is the name `ctl` uses for every service; no service may
// have it.
const ReservedName = "all"

// RestartDelay is RestartSec as a duration, with its default.
func (s *Service) RestartDelay() time.Duration {
	sec := DefaultRestartSec
	if s.RestartSec != nil {
		sec = *s.RestartSec
	}
	return time.Duration(sec * float64(time.Second))
}

// StartLimit is StartLimitBurst and StartLimitIntervalSec, with their
// defaults.
func (s *Service) StartLimit() (burst int, interval time.Duration) {
	burst, secs := DefaultStartLimitBurst, DefaultStartLimitIntervalSec
	if s.StartLimitBurst != nil {
		burst = *s.StartLimitBurst
	}
	if s.StartLimitIntervalSec != nil {
		secs = *s.StartLimitIntervalSec
	}
	return burst, time.Duration(secs) * time.Second
}

// MaxBackoff is MaxBackoffSecs as a duration, with its default.
func (s *Service) MaxBackoff() time.Duration {
	if s.MaxBackoffSecs != nil {
		return time.Duration(*s.MaxBackoffSecs) * time.Second
	}
	return DefaultMaxBackoffSecs * time.Second
}

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
// names other than ReservedName, known `after` targets, users and groups,
// directory modes, signal names, durations in range, a ready check with
// exactly one of tcp and command, one-shot services that are not
// restarted, and no dependency cycle.
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
		if d.Mode > 0o7777 {
			return fmt.Errorf("directory %s: mode %#o has bits beyond 07777", d.Path, d.Mode)
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
		if s.User != "" && !users[s.User] {
			return serviceErrorf(s.Name, "service %q runs as unknown user %q", s.Name, s.User)
		}
		if err := s.validate(); err != nil {
			return &ServiceError{Service: s.Name, Err: fmt.Errorf("service %q%w", s.Name, err)}
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

// validate checks one service's own options; its errors start with ": "
// or " " to follow the service's name.
func (s *Service) validate() error {
	if s.Name == ReservedName {
		return fmt.Errorf(": the name %s is reserved (`ctl stop %s` means every service)", ReservedName, ReservedName)
	}
	if s.Command == "" {
		return errors.New(" has no command")
	}
	switch s.Autorestart {
	case "", RestartUnexpected, RestartAlways, RestartNever:
	default:
		return fmt.Errorf(": autorestart must be true, false or unexpected, not %q", s.Autorestart)
	}
	if s.OneShot && s.Autorestart == RestartAlways {
		return errors.New(" is one-shot and cannot have autorestart true")
	}
	if s.StopSignal != "" && !slices.Contains(StopSignals, s.StopSignal) {
		return fmt.Errorf(": stopsignal must be one of %s, not %q", strings.Join(StopSignals, " "), s.StopSignal)
	}
	for _, sig := range s.Signals {
		if !slices.Contains(ForwardSignals, sig) {
			return fmt.Errorf(": signals may list %s, not %q", strings.Join(ForwardSignals, " "), sig)
		}
	}
	if r := s.Ready; r != nil {
		if (r.TCP != 0) == (r.Command != "") {
			return errors.New(": ready needs exactly one of tcp and command")
		}
		if r.TCP < 0 || r.TCP > 65535 {
			return fmt.Errorf(": ready tcp port %d is out of range", r.TCP)
		}
		if r.Timeout < 0 || r.Timeout > MaxSecs {
			return fmt.Errorf(": ready timeout %d is out of range (0 to %d)", r.Timeout, MaxSecs)
		}
	}
	return s.validateNumbers()
}

// validateNumbers checks that every count and duration is in range.
func (s *Service) validateNumbers() error {
	for _, o := range []struct {
		name     string
		v        *int
		min, max int
	}{
		{"startsecs", s.StartSecs, 0, MaxSecs},
		{"startretries", s.StartRetries, 0, MaxSecs},
		{"stopwaitsecs", s.StopWaitSecs, 0, MaxSecs},
		{"startlimitburst", s.StartLimitBurst, 1, MaxSecs},
		{"startlimitintervalsec", s.StartLimitIntervalSec, 1, MaxSecs},
		{"maxbackoffsecs", s.MaxBackoffSecs, 1, MaxSecs},
	} {
		if o.v != nil && (*o.v < o.min || *o.v > o.max) {
			return fmt.Errorf(": %s %d is out of range (%d to %d)", o.name, *o.v, o.min, o.max)
		}
	}
	if r := s.RestartSec; r != nil && !(*r >= MinRestartSec && *r <= MaxSecs) {
		return fmt.Errorf(": restartsec %g is out of range (%g to %d)", *r, MinRestartSec, MaxSecs)
	}
	return nil
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

// StopChain returns the longest chain of services that a stop of the
// whole container goes through one after another, in stop order, and the
// sum of their stopwaitsecs: the init stops a service only after every
// service that starts after it has stopped, and stops independent services
// at once, so the whole stop takes at most that sum (plus the moment KILLed
// processes take to go). A service whose stopsignal is KILL counts 0.
// Ties go to the chain whose names sort first. On a spec with a cycle or
// an unknown service the answer is partial, but it ends.
func (sp *Spec) StopChain() (chain []string, secs int) {
	return sp.stopChain(DefaultStopWaitSecs)
}

// ApplyDefaults fills every service's unset options with their defaults.
// An unset stopwaitsecs gets a share of docker stop's timeout instead of
// supervisord's 10 s: the largest whole number of seconds, from 1 to
// DefaultStopWaitSecs, with which the longest stop chain still ends a
// second before the engine KILLs the container (9 s for one service, 4 s
// each for two stopped one after the other, 3 s for three). Explicit
// values are kept; StopChain tells when they add up past the timeout.
func (sp *Spec) ApplyDefaults() {
	share := 1
	for s := DefaultStopWaitSecs; s > 1; s-- {
		if _, secs := sp.stopChain(s); secs <= DockerStopTimeout-1 {
			share = s
			break
		}
	}
	for i := range sp.Services {
		if sp.Services[i].StopWaitSecs == nil {
			sp.Services[i].StopWaitSecs = intp(share)
		}
		sp.Services[i].ApplyDefaults()
	}
}

// stopChain is StopChain with unset stopwaitsecs counted as unset seconds.
func (sp *Spec) stopChain(unset int) (chain []string, secs int) {
	byName := map[string]*Service{}
	names := make([]string, 0, len(sp.Services))
	for i := range sp.Services {
		byName[sp.Services[i].Name] = &sp.Services[i]
		names = append(names, sp.Services[i].Name)
	}
	sort.Strings(names)
	weight := func(s *Service) int {
		switch {
		case s.StopSignal == "KILL":
			return 0
		case s.StopWaitSecs == nil:
			return unset
		}
		return *s.StopWaitSecs
	}
	// total[n]: the longest chain from n (stopped first) down its `after`
	// services; next[n]: the service after n on it.
	total, next := map[string]int{}, map[string]string{}
	var longest func(n string) int
	longest = func(n string) int {
		if t, ok := total[n]; ok {
			return t
		}
		s := byName[n]
		if s == nil {
			return 0 // an unknown service: Validate says so
		}
		total[n] = 0 // a cycle ends here: Validate says so
		after := append([]string(nil), s.After...)
		sort.Strings(after)
		best := 0
		for i, a := range after {
			if t := longest(a); i == 0 || t > best {
				best, next[n] = t, a
			}
		}
		total[n] = weight(s) + best
		return total[n]
	}
	first := ""
	for _, n := range names {
		if t := longest(n); first == "" || t > total[first] {
			first = n
		}
	}
	for n := first; n != "" && !slices.Contains(chain, n); n = next[n] {
		chain = append(chain, n)
	}
	return chain, total[first]
}

// Marshal renders the spec as indented JSON with sorted map keys.
func (sp *Spec) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(sp, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
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
