package deploy

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	good := []Settings{
		{},
		{File: "app.hcl", Name: "shop", Branch: "main", Publish: "127.0.0.1", Ports: []string{"18080:8080"}, Env: []string{"A_B=c d=e"}, Include: []string{"nixpkgs=/srv/nixpkgs"}, Timeout: time.Minute},
		{File: "deploy/app.hcl", Name: "my-app.v2", Branch: "release/2.x", Publish: "::1"},
	}
	for _, s := range good {
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", s, err)
		}
	}
	bad := []struct {
		s    Settings
		want string
	}{
		{Settings{File: "../app.hcl"}, "inside the repository"},
		{Settings{File: "/etc/app.hcl"}, "inside the repository"},
		{Settings{File: "a//app.hcl"}, "clean path"},
		{Settings{File: "-b.hcl"}, "clean path"},
		{Settings{File: "app\n.hcl"}, "clean path"},
		{Settings{Name: "Shop"}, "lowercase"},
		{Settings{Name: "shop;rm"}, "lowercase"},
		{Settings{Name: "-shop"}, "lowercase"},
		{Settings{Branch: "a..b"}, "branch"},
		{Settings{Branch: "-x"}, "branch"},
		{Settings{Branch: "a b"}, "branch"},
		{Settings{Branch: "x.lock"}, "branch"},
		{Settings{Publish: "localhost"}, "IP address"},
		{Settings{Ports: []string{"8080"}}, "HOST:CONTAINER"},
		{Settings{Ports: []string{"0:8080"}}, "HOST:CONTAINER"},
		{Settings{Ports: []string{"1:70000"}}, "HOST:CONTAINER"},
		{Settings{Ports: []string{"1:80", "2:80"}}, "mapped twice"},
		{Settings{Env: []string{"NOVALUE"}}, "KEY=VALUE"},
		{Settings{Env: []string{"1A=b"}}, "KEY=VALUE"},
		{Settings{Include: []string{"-Ifoo"}}, "search path"},
		{Settings{Timeout: -time.Second}, "positive"},
	}
	for _, tc := range bad {
		if err := tc.s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error with %q", tc.s, err, tc.want)
		}
	}
}

// Flags (the set fields) beat git config, which beats the defaults.
func TestResolveOrder(t *testing.T) {
	cfg := map[string][]string{
		"file": {"cfg.hcl"}, "name": {"a", "fromcfg"}, "port": {"1:80", "2:81"},
		"timeout": {"90s"}, "env": {"A=1"},
	}
	s, err := Settings{File: "flag.hcl", Env: []string{"B=2"}}.fromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s = s.withDefaults("repo.git", "trunk")
	want := Settings{File: "flag.hcl", Name: "fromcfg", Branch: "trunk", Publish: DefaultPublish,
		Ports: []string{"1:80", "2:81"}, Env: []string{"B=2"}, Timeout: 90 * time.Second}
	if s.File != want.File || s.Name != want.Name || s.Branch != want.Branch || s.Publish != want.Publish ||
		strings.Join(s.Ports, ",") != "1:80,2:81" || strings.Join(s.Env, ",") != "B=2" || s.Timeout != want.Timeout {
		t.Errorf("resolved = %+v, want %+v", s, want)
	}
	d := Settings{}.withDefaults("Shop.git", "main")
	if d.File != "app.hcl" || d.Name != "shop" || d.Timeout != DefaultTimeout || d.Publish != "127.0.0.1" {
		t.Errorf("defaults = %+v", d)
	}
	if _, err := (Settings{}).fromConfig(map[string][]string{"timeout": {"soon"}}); err == nil || !strings.Contains(err.Error(), "nix-docker.timeout") {
		t.Errorf("a bad timeout in git config = %v", err)
	}
}
