package runspec

import (
	"strings"
	"testing"
	"time"
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
		"all":             {Spec{Version: Version, Services: []Service{{Name: "all", Command: "x"}}}, "the name all is reserved"},
		"dir mode":        {Spec{Version: Version, Directories: []Directory{{Path: "/data", Mode: 0o10000}}}, "mode 010000 has bits beyond 07777"},
		"restartsec":      {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", RestartSec: floatp(0.001)}}}, "restartsec 0.001 is out of range (0.01 to 1000000)"},
		"restartsec neg":  {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", RestartSec: floatp(-1)}}}, "restartsec -1 is out of range"},
		"burst":           {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", StartLimitBurst: intp(0)}}}, "startlimitburst 0 is out of range (1 to 1000000)"},
		"interval":        {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", StartLimitIntervalSec: intp(0)}}}, "startlimitintervalsec 0 is out of range"},
		"backoff":         {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", MaxBackoffSecs: intp(0)}}}, "maxbackoffsecs 0 is out of range"},
		"stopwaitsecs":    {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", StopWaitSecs: intp(1 << 40)}}}, "stopwaitsecs 1099511627776 is out of range"},
		"startsecs":       {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", StartSecs: intp(-1)}}}, "startsecs -1 is out of range"},
		"startretries":    {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", StartRetries: intp(-1)}}}, "startretries -1 is out of range"},
		"ready timeout":   {Spec{Version: Version, Services: []Service{{Name: "a", Command: "x", Ready: &Ready{TCP: 1, Timeout: MaxSecs + 1}}}}, "ready timeout 1000001 is out of range"},
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

func floatp(f float64) *float64 { return &f }

func TestRestartOptions(t *testing.T) {
	var s Service
	if d := s.RestartDelay(); d != 100*time.Millisecond {
		t.Errorf("RestartDelay() = %s, want 100ms", d)
	}
	if b, i := s.StartLimit(); b != 5 || i != 10*time.Second {
		t.Errorf("StartLimit() = %d, %s, want 5, 10s", b, i)
	}
	if d := s.MaxBackoff(); d != time.Minute {
		t.Errorf("MaxBackoff() = %s, want 1m", d)
	}
	s = Service{RestartSec: floatp(0.02), StartLimitBurst: intp(2000), StartLimitIntervalSec: intp(1), MaxBackoffSecs: intp(3)}
	if d := s.RestartDelay(); d != 20*time.Millisecond {
		t.Errorf("RestartDelay() = %s, want 20ms", d)
	}
	if b, i := s.StartLimit(); b != 2000 || i != time.Second {
		t.Errorf("StartLimit() = %d, %s, want 2000, 1s", b, i)
	}
	if d := s.MaxBackoff(); d != 3*time.Second {
		t.Errorf("MaxBackoff() = %s, want 3s", d)
	}
	// The largest values accepted do not overflow.
	s = Service{RestartSec: floatp(MaxSecs), MaxBackoffSecs: intp(MaxSecs), StartLimitIntervalSec: intp(MaxSecs)}
	if _, i := s.StartLimit(); s.RestartDelay() <= 0 || s.MaxBackoff() <= 0 || i <= 0 {
		t.Errorf("largest values overflow: %s %s %s", s.RestartDelay(), s.MaxBackoff(), i)
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

func TestStopChain(t *testing.T) {
	secs := func(n int) *int { return &n }
	for name, c := range map[string]struct {
		services []Service
		chain    string
		total    int
	}{
		"empty":  {nil, "", 0},
		"single": {[]Service{{Name: "a"}}, "a", DefaultStopWaitSecs},
		"independent": {[]Service{
			{Name: "a", StopWaitSecs: secs(6)}, {Name: "b", StopWaitSecs: secs(6)}, {Name: "c", StopWaitSecs: secs(7)},
		}, "c", 7},
		// webapp: app after redis; web independent.
		"webapp": {[]Service{
			{Name: "app", After: []string{"redis"}}, {Name: "redis"}, {Name: "web", StopWaitSecs: secs(15)},
		}, "app redis", 20},
		"diamond": {[]Service{
			{Name: "db", StopWaitSecs: secs(4)},
			{Name: "cache", After: []string{"db"}, StopWaitSecs: secs(1)},
			{Name: "queue", After: []string{"db"}, StopWaitSecs: secs(3)},
			{Name: "app", After: []string{"cache", "queue"}, StopWaitSecs: secs(2)},
		}, "app queue db", 9},
		"tie by name": {[]Service{
			{Name: "b", StopWaitSecs: secs(5)}, {Name: "a", StopWaitSecs: secs(5)},
			{Name: "x", After: []string{"b", "a"}, StopWaitSecs: secs(1)},
		}, "x a", 6},
		"kill counts 0": {[]Service{
			{Name: "db", StopWaitSecs: secs(3)},
			{Name: "app", After: []string{"db"}, StopSignal: "KILL", StopWaitSecs: secs(30)},
		}, "app db", 3},
	} {
		t.Run(name, func(t *testing.T) {
			sp := &Spec{Version: Version}
			for _, s := range c.services {
				s.Command = "x"
				sp.Services = append(sp.Services, s)
			}
			if err := sp.Validate(); err != nil {
				t.Fatal(err)
			}
			chain, total := sp.StopChain()
			if strings.Join(chain, " ") != c.chain || total != c.total {
				t.Errorf("StopChain() = %q, %d, want %q, %d", chain, total, c.chain, c.total)
			}
		})
	}
}

// TestApplyDefaultsStopShare: unset stopwaitsecs share docker stop's
// timeout along the longest stop chain, so the whole stop ends before the
// engine KILLs; explicit values are kept and counted.
func TestApplyDefaultsStopShare(t *testing.T) {
	ten, eight := 10, 8
	for name, c := range map[string]struct {
		services []Service
		want     map[string]int
	}{
		"one":                 {[]Service{{Name: "a"}}, map[string]int{"a": 9}},
		"parallel":            {[]Service{{Name: "a"}, {Name: "b"}}, map[string]int{"a": 9, "b": 9}},
		"two in a row":        {[]Service{{Name: "a"}, {Name: "b", After: []string{"a"}}}, map[string]int{"a": 4, "b": 4}},
		"three":               {[]Service{{Name: "a"}, {Name: "b", After: []string{"a"}}, {Name: "c", After: []string{"b"}}}, map[string]int{"a": 3, "b": 3, "c": 3}},
		"explicit":            {[]Service{{Name: "a", StopWaitSecs: &eight}, {Name: "b", After: []string{"a"}}}, map[string]int{"a": 8, "b": 1}},
		"over":                {[]Service{{Name: "a", StopWaitSecs: &ten}, {Name: "b", After: []string{"a"}}}, map[string]int{"a": 10, "b": 1}},
		"kill counts nothing": {[]Service{{Name: "a", StopSignal: "KILL"}, {Name: "b", After: []string{"a"}}}, map[string]int{"b": 9}},
	} {
		t.Run(name, func(t *testing.T) {
			sp := &Spec{Version: Version, Services: c.services}
			sp.ApplyDefaults()
			for _, s := range sp.Services {
				if want, ok := c.want[s.Name]; ok && *s.StopWaitSecs != want {
					t.Errorf("%s: stopwaitsecs = %d, want %d", s.Name, *s.StopWaitSecs, want)
				}
			}
			if _, secs := sp.StopChain(); name != "over" && secs > DockerStopTimeout-1 {
				t.Errorf("the longest stop chain takes %d s, want at most %d", secs, DockerStopTimeout-1)
			}
		})
	}
}

// TestStopChainEnds: a cycle or an unknown service (which Validate
// reports) does not make StopChain or ApplyDefaults loop.
func TestStopChainEnds(t *testing.T) {
	sp := &Spec{Version: Version, Services: []Service{
		{Name: "a", After: []string{"b"}}, {Name: "b", After: []string{"a", "ghost"}},
	}}
	sp.ApplyDefaults()
	if chain, _ := sp.StopChain(); len(chain) == 0 || len(chain) > 2 {
		t.Errorf("StopChain on a cycle = %v", chain)
	}
}
