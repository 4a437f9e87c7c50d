package deploy

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Settings configure deployments of one repository. A zero field is
// unset: Resolve fills it from the repository's git config (section
// nix-docker) and then from the defaults.
type Settings struct {
	File    string        // the app file, relative to the repository's root (default app.hcl)
	Name    string        // image repository and container name prefix (default: the repository's directory name)
	Branch  string        // the branch whose pushes deploy (default: the repository's HEAD branch)
	Publish string        // the host address ports are published on (default 127.0.0.1)
	Ports   []string      // HOST:CONTAINER, to publish a container port on another host port
	Env     []string      // KEY=VALUE, set in the containers
	Include []string      // Nix search path entries for the build (-I), such as nixpkgs=/path
	Timeout time.Duration // how long a new container may take to become healthy (default 2m)
}

// Defaults for unset settings.
const (
	DefaultFile    = "app.hcl"
	DefaultPublish = "127.0.0.1"
	DefaultTimeout = 2 * time.Minute
)

// configKeys name the git config keys, in section nix-docker, that set
// each setting; the multi-valued ones may be given more than once.
var configKeys = []string{"file", "name", "branch", "publish", "port", "env", "include", "timeout"}

// fromConfig fills unset fields from git config values (key → values, in
// the order git lists them).
func (s Settings) fromConfig(cfg map[string][]string) (Settings, error) {
	last := func(k string) string {
		if v := cfg[k]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
	fill := func(field *string, k string) {
		if *field == "" {
			*field = last(k)
		}
	}
	fill(&s.File, "file")
	fill(&s.Name, "name")
	fill(&s.Branch, "branch")
	fill(&s.Publish, "publish")
	if len(s.Ports) == 0 {
		s.Ports = cfg["port"]
	}
	if len(s.Env) == 0 {
		s.Env = cfg["env"]
	}
	if len(s.Include) == 0 {
		s.Include = cfg["include"]
	}
	if s.Timeout == 0 && last("timeout") != "" {
		d, err := time.ParseDuration(last("timeout"))
		if err != nil {
			return s, fmt.Errorf("git config nix-docker.timeout = %q: %v (write it as 90s or 2m)", last("timeout"), err)
		}
		s.Timeout = d
	}
	return s, nil
}

// withDefaults fills what is still unset. repoName and headBranch come
// from the repository.
func (s Settings) withDefaults(repoName, headBranch string) Settings {
	if s.File == "" {
		s.File = DefaultFile
	}
	if s.Name == "" {
		s.Name = strings.ToLower(strings.TrimSuffix(repoName, ".git"))
	}
	if s.Branch == "" {
		s.Branch = headBranch
	}
	if s.Publish == "" {
		s.Publish = DefaultPublish
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	return s
}

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	branchRE = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)
	envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate checks the set fields; unset ones pass. Every value ends up on
// a command line, in a hook script or in a container's configuration, so
// each is checked against what those accept.
func (s Settings) Validate() error {
	if s.File != "" {
		clean := path.Clean(s.File)
		if clean != s.File || path.IsAbs(clean) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || strings.HasPrefix(clean, "-") || hasControl(clean) {
			return fmt.Errorf("file %q: want a clean path inside the repository, such as app.hcl or deploy/app.hcl", s.File)
		}
	}
	if s.Name != "" && (!nameRE.MatchString(s.Name) || len(s.Name) > 64) {
		return fmt.Errorf("name %q: want lowercase letters and digits, separated by single '.', '_' or '-' (at most 64 characters), as Docker's image names are", s.Name)
	}
	if s.Branch != "" {
		b := s.Branch
		if !branchRE.MatchString(b) || strings.Contains(b, "..") || strings.Contains(b, "//") || strings.HasPrefix(b, "-") ||
			strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") || strings.HasSuffix(b, ".lock") || strings.HasSuffix(b, ".") {
			return fmt.Errorf("branch %q: not a branch name git accepts (letters, digits, '.', '_', '-', '/')", s.Branch)
		}
	}
	if s.Publish != "" && net.ParseIP(s.Publish) == nil {
		return fmt.Errorf("publish %q: want an IP address, such as 127.0.0.1 or 0.0.0.0", s.Publish)
	}
	if _, err := portMap(s.Ports); err != nil {
		return err
	}
	for _, e := range s.Env {
		k, v, ok := strings.Cut(e, "=")
		if !ok || !envKeyRE.MatchString(k) || strings.ContainsRune(v, 0) {
			return fmt.Errorf("env %q: want KEY=VALUE, KEY made of letters, digits and '_'", e)
		}
	}
	for _, i := range s.Include {
		if i == "" || hasControl(i) || strings.HasPrefix(i, "-") {
			return fmt.Errorf("include %q: want a Nix search path entry, such as nixpkgs=/srv/nixpkgs", i)
		}
	}
	if s.Timeout < 0 {
		return fmt.Errorf("timeout %s: want a positive duration", s.Timeout)
	}
	return nil
}

// portMap parses HOST:CONTAINER pairs into container port → host port.
func portMap(specs []string) (map[int]int, error) {
	m := map[int]int{}
	for _, p := range specs {
		h, c, ok := strings.Cut(p, ":")
		hp, err1 := strconv.Atoi(h)
		cp, err2 := strconv.Atoi(c)
		if !ok || err1 != nil || err2 != nil || hp < 1 || hp > 65535 || cp < 1 || cp > 65535 {
			return nil, fmt.Errorf("port %q: want HOST:CONTAINER, two port numbers, such as 18080:8080", p)
		}
		if _, dup := m[cp]; dup {
			return nil, fmt.Errorf("port %q: container port %d is mapped twice", p, cp)
		}
		m[cp] = hp
	}
	return m, nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
