package runspec

import (
	"strings"
	"testing"
)

func TestStartOrder(t *testing.T) {
	sp := &Spec{Version: Version, Services: []Service{
		{Name: "web", Command: "x"},
		{Name: "app", Command: "x", After: []string{"redis", "db"}},
		{Name: "redis", Command: "x"},
		{Name: "db", Command: "x", After: []string{"setup"}},
		{Name: "setup", Command: "x", OneShot: true},
	}}
	got, err := sp.StartOrder()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "setup db redis app web" {
		t.Errorf("StartOrder = %v, want setup db redis app web", got)
	}
	if err := sp.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
}

func TestValidate(t *testing.T) {
	for name, c := range map[string]struct {
		spec Spec
		want string
	}{
		"version":         {Spec{Version: 99}, "version 99"},
		"cycle":           {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", After: []string{"b"}}, {Name: "b", Command: "x", After: []string{"a"}}}}, "cycle"},
		"unknown":         {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", After: []string{"b"}}}}, `unknown service "b"`},
		"twice":           {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x"}, {Name: "a", Command: "y"}}}, "twice"},
		"user":            {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", User: "bob"}}}, `unknown user "bob"`},
		"restart":         {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", Autorestart: "maybe"}}}, "autorestart"},
		"no cmd":          {Spec{Version: Version, Services: []Service{{Name: "a"}}}, "no command"},
		"stopsignal":      {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", StopSignal: "SIGTERM"}}}, `stopsignal must be one of TERM INT QUIT HUP KILL USR1 USR2, not "SIGTERM"`},
		"stopsignal case": {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", StopSignal: "term"}}}, "stopsignal"},
		"signals":         {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", Signals: []string{"HUP", "TERM"}}}}, `signals may list HUP USR1 USR2, not "TERM"`},
		"dir user":        {Spec{Version: Version, Directories: []Directory{{Path: "/data", User: "bob"}}}, `directory /data belongs to unknown user "bob"`},
		"dir group":       {Spec{Version: Version, Users: []User{{Name: "bob"}}, Directories: []Directory{{Path: "/data", User: "bob", Group: "bob"}}}, `directory /data belongs to unknown group "bob"`},
		"ready none":      {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", Ready: &Ready{Timeout: 5}}}}, "exactly one of tcp and command"},
		"ready both":      {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", Ready: &Ready{TCP: 80, Command: "true"}}}}, "exactly one of tcp and command"},
		"ready port":      {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", Ready: &Ready{TCP: 70000}}}}, "out of range"},
		"oneshot":         {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", OneShot: true, Autorestart: RestartAlways}}}, "one-shot"},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.spec.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate = %v, want an error with %q", err, c.want)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	sp := &Spec{
		Version: Version,
		Users:   []User{{Name: "root"}, {Name: "redis", UID: 1000, GID: 1000}},
		Groups:  []Group{{Name: "root"}, {Name: "redis", GID: 1000}},
		Directories: []Directory{
			{Path: "/var/lib/redis", User: "redis", Group: "redis", Mode: 0o700},
			{Path: "/srv", Group: "root"},
			{Path: "/cache"},
		},
		Services: []Service{
			{Name: "setup", Command: "x", OneShot: true, Autorestart: RestartNever},
			{Name: "setup2", Command: "x", OneShot: true, Autorestart: RestartUnexpected},
			{Name: "redis", Command: "x", User: "redis", Ready: &Ready{TCP: 6379}, After: []string{"setup"}},
			{Name: "app", Command: "x", Ready: &Ready{Command: "true", Timeout: 5}, StopSignal: "QUIT", Signals: []string{"HUP", "USR1", "USR2"}},
		},
	}
	for _, sig := range StopSignals {
		sp.Services = append(sp.Services, Service{Name: "stop-" + sig, Command: "x", StopSignal: sig})
	}
	if err := sp.Validate(); err != nil {
		t.Errorf("Validate = %v, want nil", err)
	}
}

func TestApplyDefaults(t *testing.T) {
	s := Service{Name: "a", Command: "x", Ready: &Ready{TCP: 80}}
	s.ApplyDefaults()
	if s.Autorestart != RestartUnexpected || *s.StartSecs != 1 || *s.StartRetries != 3 || *s.StopWaitSecs != 10 ||
		s.StopSignal != "TERM" || !*s.StopAsGroup || !*s.KillAsGroup || len(s.ExitCodes) != 1 || s.Ready.Timeout != DefaultReadyTimeout {
		t.Errorf("ApplyDefaults = %+v", s)
	}
	zero := 0
	s = Service{StartSecs: &zero}
	s.ApplyDefaults()
	if *s.StartSecs != 0 {
		t.Errorf("ApplyDefaults overrode startsecs = 0")
	}
}
