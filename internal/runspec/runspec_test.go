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
		"version": {Spec{Version: 99}, "version 99"},
		"cycle":   {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", After: []string{"b"}}, {Name: "b", Command: "x", After: []string{"a"}}}}, "cycle"},
		"unknown": {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", After: []string{"b"}}}}, `unknown service "b"`},
		"twice":   {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x"}, {Name: "a", Command: "y"}}}, "twice"},
		"user":    {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", User: "bob"}}}, `unknown user "bob"`},
		"restart": {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", Autorestart: "maybe"}}}, "autorestart"},
		"no cmd":  {Spec{Version: Version, Services: []Service{{Name: "a"}}}, "no command"},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.spec.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate = %v, want an error with %q", err, c.want)
			}
		})
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
