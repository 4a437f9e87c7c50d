package project

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nix-docker/nix-docker/internal/npm"
	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/schema"
)

const maxModuleDepth = 16

type loader struct {
	parser *schema.Parser
	proj   *Project
	diags  hcl.Diagnostics

	// decls records where each named thing was declared, and the
	// attributes later checks point at: decl{"service", "app"},
	// decl{"after", "app"}, decl{"service user", "app"}, ...
	decls map[decl]hcl.Range
	ports ports
	// npm caches npm_package() reads, by directory.
	npm map[string]*npm.Project
	// missing is where HCL points at what the app file lacks.
	missing hcl.Range

	links      map[string]linkDecl // root links by path
	opts       Options
	copies     map[string]*copied // path() targets by absolute path
	ignore     ignoreRules
	ignoreErr  error
	ignoreRead bool
	pending    []pendingWarning // path() warnings not yet reported
}

// Options are what the person running the build decides, beyond the app
// file.
type Options struct {
	// AllowPaths are directories outside the app file's directory that
	// path() may copy from (nix-docker --allow-path).
	AllowPaths []string
}

// decl names a declaration: its kind and its name.
type decl struct{ kind, name string }

// ports records who uses each port, to report clashes.
type ports struct {
	owner map[int]portDecl // the module instance ("" for the app file) that exposes each image port
	ready map[int]portDecl // the service whose ready check uses each port
	clash map[int]bool     // ports already reported as used twice
}

type portDecl struct {
	owner string
	at    hcl.Range
}

// Load reads the app file at filename and everything it uses. All
// problems found are reported together; the Project is nil when any of
// them is an error.
func Load(parser *schema.Parser, filename string) (*Project, hcl.Diagnostics) {
	return LoadWith(parser, filename, Options{})
}

// LoadWith is Load with options.
func LoadWith(parser *schema.Parser, filename string, opts Options) (*Project, hcl.Diagnostics) {
	l := &loader{parser: parser, opts: opts}
	p, diags := l.load(filename)
	// Messages spell references as in HCL, never as placeholders.
	if l.proj != nil {
		for _, d := range diags {
			d.Summary, d.Detail = l.proj.show(d.Summary), l.proj.show(d.Detail)
		}
	}
	return p, diags
}

func (l *loader) load(filename string) (*Project, hcl.Diagnostics) {
	parser := l.parser
	abs, err := filepath.Abs(filename)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read configuration", Detail: err.Error()}}
	}
	src, err := os.ReadFile(filename)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read configuration", Detail: err.Error()}}
	}
	*l = loader{
		parser: parser,
		proj: &Project{
			File:  filename,
			Dir:   filepath.Dir(abs),
			nonce: newNonce(),
			Users: []runspec.User{
				{Name: "root", UID: 0, GID: 0, Home: "/root"},
				{Name: "nobody", UID: 65534, GID: 65534, Home: "/var/empty"},
			},
			Groups: []runspec.Group{{Name: "root", GID: 0}, {Name: "nogroup", GID: 65534}},
		},
		decls:  map[decl]hcl.Range{},
		opts:   l.opts,
		copies: map[string]*copied{},
		links:  map[string]linkDecl{},
		ports:  ports{owner: map[int]portDecl{}, ready: map[int]portDecl{}, clash: map[int]bool{}},
	}
	l.proj.System() // made here, so that rendering changes nothing
	f, diags := schema.Parse(parser, src, filename, schema.AppFile)
	l.diags = append(l.diags, diags...)
	if f == nil {
		return nil, l.diags
	}
	l.missing = f.MissingItemRange
	app := &scope{dir: l.proj.Dir}
	if f.Nixpkgs != nil {
		l.addNixpkgs(app, f.Nixpkgs)
	}
	l.addFile(app, f, nil)
	l.check()
	if l.diags.HasErrors() {
		return nil, l.diags
	}
	l.finish()
	for _, d := range l.diags {
		if d.Severity == hcl.DiagWarning {
			l.proj.Warnings = append(l.proj.Warnings, d)
		}
	}
	return l.proj, l.diags
}

// addFile adds what one file declares, in scope sc. chain holds the module
// sources being expanded, to refuse a module that uses itself.
func (l *loader) addFile(sc *scope, f *schema.File, chain []string) {
	sc.services = map[string]bool{}
	for _, s := range f.Services {
		sc.services[s.Name] = true
	}
	sc.files = map[string]cty.Value{}
	for _, fb := range f.Files {
		key := l.name(sc, fb.Name)
		sc.files[fb.Name] = cty.StringVal(l.proj.placeholder(Ref{Kind: FileRef, File: key}))
	}
	l.addLocals(sc, f.Locals)
	for _, img := range f.Images {
		l.addImage(sc, img)
	}
	for _, g := range f.Groups {
		l.addGroup(sc, g)
	}
	for _, u := range f.Users {
		l.addUser(sc, u)
	}
	for _, d := range f.Directories {
		l.addDirectory(sc, d)
	}
	for _, fb := range f.Files {
		l.addGeneratedFile(sc, fb)
	}
	for _, s := range f.Services {
		l.addService(sc, s)
	}
	for _, m := range f.Modules {
		l.addModule(sc, m, chain)
	}
}

// name gives a module's declaration its global name: "main" becomes the
// instance name, anything else "<instance>-<label>". In the app file names
// are kept.
func (l *loader) name(sc *scope, label string) string {
	switch {
	case sc.instance == "":
		return label
	case label == "main":
		return sc.instance
	default:
		return sc.instance + "-" + label
	}
}

func (l *loader) check() {
	users := map[string]bool{}
	for _, u := range l.proj.Users {
		users[u.Name] = true
	}
	groups := map[string]bool{}
	for _, g := range l.proj.Groups {
		groups[g.Name] = true
	}
	var serviceNames []string
	for _, s := range l.proj.Services {
		serviceNames = append(serviceNames, s.Name)
	}
	for _, s := range l.proj.Services {
		if s.User != "" && !users[s.User] {
			l.errorf(l.decls[decl{"service user", s.Name}], "Unknown user", "Service %q runs as user %q, which is not declared. Declare it with a user block.%s", s.Name, s.User, suggest(s.User, l.userNames()))
		}
		for _, dep := range s.After {
			if l.proj.Service(dep) == nil {
				l.errorf(l.decls[decl{"after", s.Name}], "Unknown service", "Service %q starts after %q, which is not declared.%s", s.Name, dep, suggest(dep, serviceNames))
			} else if dep == s.Name {
				l.errorf(l.decls[decl{"after", s.Name}], "Service after itself", "Service %q cannot start after itself.", s.Name)
			}
		}
	}
	for _, d := range l.proj.Directories {
		if d.User != "" && !users[d.User] {
			l.errorf(l.decls[decl{"directory user", d.Path}], "Unknown user", "Directory %s belongs to user %q, which is not declared.%s", d.Path, d.User, suggest(d.User, l.userNames()))
		}
		if d.Group != "" && !groups[d.Group] {
			l.errorf(l.decls[decl{"directory", d.Path}], "Unknown group", "Directory %s belongs to group %q, which is not declared.%s", d.Path, d.Group, suggest(d.Group, l.groupNames()))
		}
	}
	l.checkLinks()
	if !l.diags.HasErrors() {
		l.checkSpec()
	}
}

// checkSpec checks what the init will check at start (runspec's rules),
// so that a problem points at its declaration rather than failing the
// container. The checks above mirror runspec's; this catches what they
// miss, and dependency cycles.
func (l *loader) checkSpec() {
	err := l.proj.Spec().Validate()
	var cycle *runspec.CycleError
	var svc *runspec.ServiceError
	switch {
	case err == nil:
		l.warnStopChain()
	case errors.As(err, &cycle):
		at := make([]string, len(cycle.Cycle))
		for i, name := range cycle.Cycle {
			at[i] = fmt.Sprintf("%s (after at %s)", name, l.decls[decl{"after", name}])
		}
		l.errorf(l.decls[decl{"after", cycle.Cycle[0]}], "Dependency cycle", "Services start after each other in a cycle: %s. Remove one of the after entries.", strings.Join(at[:len(at)-1], " -> ")+" -> "+cycle.Cycle[0])
	case errors.As(err, &svc):
		l.errorf(l.decls[decl{"service", svc.Service}], "Invalid service configuration", "%s.", capital(err.Error()))
	default:
		l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid configuration", Detail: capital(err.Error()) + "."})
	}
	if len(l.proj.Services) == 0 {
		l.errorf(l.missing, "No services", "The image runs no service: declare a service block or use a module.")
	}
}

// warnStopChain warns when stopping the container, which the init does
// along the dependency graph, can take longer than the engine waits
// before it KILLs everything (docker stop's default 10 s).
func (l *loader) warnStopChain() {
	chain, secs := l.proj.Spec().StopChain()
	if secs <= runspec.DockerStopTimeout {
		return
	}
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "Stop may outlast docker stop",
		Detail: fmt.Sprintf("Stopping %s one after another may take up to %d s (their stopwaitsecs), but docker stop KILLs the container after %d s by default: lower stopwaitsecs, or run the container with --stop-timeout %d.",
			strings.Join(chain, ", then "), secs, runspec.DockerStopTimeout, secs+1),
		Subject: l.decls[decl{"service", chain[0]}].Ptr(),
	})
}

// finish sorts what the order of declaration should not decide.
func (l *loader) finish() {
	p := l.proj
	sort.Slice(p.Services, func(i, j int) bool { return p.Services[i].Name < p.Services[j].Name })
	sort.Slice(p.Users, func(i, j int) bool { return p.Users[i].UID < p.Users[j].UID })
	sort.Slice(p.Groups, func(i, j int) bool { return p.Groups[i].GID < p.Groups[j].GID })
	sort.Slice(p.Directories, func(i, j int) bool { return p.Directories[i].Path < p.Directories[j].Path })
	sort.Slice(p.Files, func(i, j int) bool { return p.Files[i].Key < p.Files[j].Key })
	sort.Ints(p.Ports)
	sort.Strings(p.Volumes)
	sort.Slice(p.Env, func(i, j int) bool { return p.Env[i].Name < p.Env[j].Name })
	sort.Slice(p.Links, func(i, j int) bool { return p.Links[i].Path < p.Links[j].Path })
}

func (l *loader) userNames() []string {
	var n []string
	for _, u := range l.proj.Users {
		n = append(n, u.Name)
	}
	return n
}

func (l *loader) groupNames() []string {
	var n []string
	for _, g := range l.proj.Groups {
		n = append(n, g.Name)
	}
	return n
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func validEnvName(s string) bool { return envName.MatchString(s) }

func sortedKeys(m map[string]string) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	var out []*hcl.Attribute
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].NameRange.Start.Byte < out[j].NameRange.Start.Byte
	})
	return out
}
