package project

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/modules"
	"github.com/nix-docker/nix-docker/schema"
)

const maxModuleDepth = 16

type loader struct {
	parser *schema.Parser
	proj   *Project
	diags  hcl.Diagnostics

	serviceDecl map[string]hcl.Range
	userDecl    map[string]hcl.Range
	groupDecl   map[string]hcl.Range
	dirDecl     map[string]hcl.Range
	envDecl     map[string]hcl.Range
	linkDecl    map[string]hcl.Range
	afterAttr   map[string]hcl.Range
	userAttr    map[string]hcl.Range
	// portOwner records which module instance (or "" for the app file)
	// contributed each image port, and where.
	portOwner map[int]portDecl
	readyPort map[int]portDecl
	portClash map[int]bool // ports already reported as used twice
}

type portDecl struct {
	owner string
	at    hcl.Range
}

// Load reads the app file at filename and everything it uses. All
// problems found are reported together; the Project is nil when any of
// them is an error.
func Load(parser *schema.Parser, filename string) (*Project, hcl.Diagnostics) {
	abs, err := filepath.Abs(filename)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read configuration", Detail: err.Error()}}
	}
	src, err := os.ReadFile(filename)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read configuration", Detail: err.Error()}}
	}
	l := &loader{
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
		serviceDecl: map[string]hcl.Range{},
		userDecl:    map[string]hcl.Range{},
		groupDecl:   map[string]hcl.Range{},
		dirDecl:     map[string]hcl.Range{},
		envDecl:     map[string]hcl.Range{},
		linkDecl:    map[string]hcl.Range{},
		afterAttr:   map[string]hcl.Range{},
		userAttr:    map[string]hcl.Range{},
		portOwner:   map[int]portDecl{},
		readyPort:   map[int]portDecl{},
		portClash:   map[int]bool{},
	}
	f, diags := schema.Parse(parser, src, filename, schema.AppFile)
	l.diags = append(l.diags, diags...)
	if f == nil {
		return nil, l.diags
	}
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

func (l *loader) addImage(sc *scope, img *schema.Image) {
	if img.Ports != nil {
		if ports, ok := l.intListExpr(sc, img.Ports, "attribute \"ports\"", 1, 65535); ok {
			at := img.Ports.Range()
			if sc.instance != "" {
				at = sc.decl
			}
			for _, p := range ports {
				if prev, seen := l.portOwner[p]; seen {
					// Two module instances on one port is a clash; the app
					// file may repeat a port a module already exposes.
					if prev.owner != sc.instance && prev.owner != "" && sc.instance != "" {
						l.portClash[p] = true
						l.errorf(at, "Port used twice", "Port %d is used by module %q (%s) and by module %q. Give one of them another port.", p, prev.owner, prev.at, sc.instance)
					}
					continue
				}
				l.portOwner[p] = portDecl{owner: sc.instance, at: at}
				l.proj.Ports = append(l.proj.Ports, p)
			}
		}
	}
	if img.Volumes != nil {
		if vols, ok := l.typed(sc, img.Volumes, cty.List(cty.String), "attribute \"volumes\""); ok {
			i := 0
			for it := vols.ElementIterator(); it.Next(); i++ {
				_, e := it.Element()
				v := e.AsString()
				if !path.IsAbs(v) || path.Clean(v) != v {
					l.errorf(elementRange(img.Volumes, i), "Invalid volume", "A volume is an absolute, clean path inside the container, such as \"/data\"; %q is not.", v)
					continue
				}
				if !slices.Contains(l.proj.Volumes, v) {
					l.proj.Volumes = append(l.proj.Volumes, v)
				}
			}
		}
	}
	if img.Links != nil {
		if links, ok := l.strMap(sc, img.Links, "attribute \"links\""); ok {
			for _, p := range sortedKeys(links) {
				target := links[p]
				if !path.IsAbs(p) || path.Clean(p) != p || p == "/" || strings.HasPrefix(p, "/nix/") || p == "/nix" {
					l.errorf(img.Links.Range(), "Invalid link", "A link is an absolute, clean path in the image outside /nix, such as \"/bin/sh\"; %q is not.", p)
					continue
				}
				if target == "" {
					l.errorf(img.Links.Range(), "Invalid link", "Link %s has an empty target.", p)
					continue
				}
				if p == "/etc" || p == "/tmp" || p == "/run" || p == "/etc/passwd" || p == "/etc/group" || p == "/etc/nsswitch.conf" ||
					strings.HasPrefix(p, "/tmp/") || strings.HasPrefix(p, "/run/") {
					l.errorf(img.Links.Range(), "Reserved path", "%s is made by nix-docker itself (users, groups, /tmp, /run); it cannot be a link.", p)
					continue
				}
				if prev, seen := l.linkDecl[p]; seen {
					for _, have := range l.proj.Links {
						if have.Path == p && have.Target != target {
							l.errorf(img.Links.Range(), "Conflicting link", "Link %s is also declared, to another target, at %s.", p, prev)
						}
					}
					continue
				}
				l.linkDecl[p] = img.Links.Range()
				l.proj.Links = append(l.proj.Links, Link{Path: p, Target: target})
			}
		}
	}
	if img.Env != nil {
		if env, ok := l.strMap(sc, img.Env, "attribute \"env\""); ok {
			for _, k := range sortedKeys(env) {
				if prev, dup := l.envDecl[k]; dup {
					for _, e := range l.proj.Env {
						if e.Name == k && e.Value != env[k] {
							l.errorf(img.Env.Range(), "Conflicting environment variable", "Image environment variable %q is also set, to another value, at %s.", k, prev)
						}
					}
					continue
				}
				if !validEnvName(k) {
					l.errorf(img.Env.Range(), "Invalid environment variable name", "%q is not a valid environment variable name: use letters, digits and underscores, not starting with a digit.", k)
					continue
				}
				l.warnSecret(img.Env, k, env[k])
				l.envDecl[k] = img.Env.Range()
				l.proj.Env = append(l.proj.Env, EnvVar{Name: k, Value: env[k]})
			}
		}
	}
}

func (l *loader) addGroup(sc *scope, g *schema.Group) {
	gid, ok := l.integer(sc, g.Attrs, "gid", 0, 1<<31-1)
	if !ok {
		return
	}
	l.putGroup(runspec.Group{Name: g.Name, GID: gid}, g.DeclRange)
}

func (l *loader) putGroup(g runspec.Group, rng hcl.Range) {
	for _, have := range l.proj.Groups {
		if have.Name == g.Name {
			if have.GID != g.GID {
				l.errorf(rng, "Conflicting group", "Group %q is declared with gid %d here and gid %d at %s.", g.Name, g.GID, have.GID, l.groupDecl[g.Name])
			}
			return
		}
		if have.GID == g.GID {
			l.errorf(rng, "Duplicate gid", "Group %q has gid %d, already used by group %q.", g.Name, g.GID, have.Name)
			return
		}
	}
	l.groupDecl[g.Name] = rng
	l.proj.Groups = append(l.proj.Groups, g)
}

func (l *loader) addUser(sc *scope, u *schema.User) {
	uid, ok := l.integer(sc, u.Attrs, "uid", 0, 1<<31-1)
	if !ok {
		return
	}
	user := runspec.User{Name: u.Name, UID: uid, GID: uid, Home: "/var/empty"}
	for _, have := range l.proj.Users {
		if have.UID == uid && have.Name != u.Name {
			l.errorf(u.DeclRange, "Duplicate uid", "User %q has uid %d, already used by user %q.", u.Name, uid, have.Name)
			return
		}
	}
	if _, present := u.Attrs["gid"]; present {
		gid, ok := l.integer(sc, u.Attrs, "gid", 0, 1<<31-1)
		if !ok {
			return
		}
		user.GID = gid
	} else {
		// Like NixOS' user groups: a group of the user's name and id.
		l.putGroup(runspec.Group{Name: u.Name, GID: uid}, u.DeclRange)
	}
	if home, a, ok := l.str(sc, u.Attrs, "home"); ok {
		if !path.IsAbs(home) {
			l.errorf(a.Expr.Range(), "Invalid home directory", "A home directory is an absolute path, not %q.", home)
		}
		user.Home = home
	}
	if groups, a, ok := l.strList(sc, u.Attrs, "groups"); ok {
		for _, g := range groups {
			gid := -1
			for _, have := range l.proj.Groups {
				if have.Name == g {
					gid = have.GID
				}
			}
			if gid < 0 {
				l.errorf(a.Expr.Range(), "Unknown group", "User %q is in group %q, which is not declared.%s", u.Name, g, suggest(g, l.groupNames()))
				continue
			}
			user.Groups = append(user.Groups, gid)
		}
	}
	for _, have := range l.proj.Users {
		if have.Name == user.Name {
			if fmt.Sprint(have) != fmt.Sprint(user) {
				l.errorf(u.DeclRange, "Conflicting user", "User %q is declared differently at %s.", user.Name, l.userDecl[user.Name])
			}
			return
		}
		if have.UID == user.UID {
			l.errorf(u.DeclRange, "Duplicate uid", "User %q has uid %d, already used by user %q.", user.Name, user.UID, have.Name)
			return
		}
	}
	l.userDecl[user.Name] = u.DeclRange
	l.proj.Users = append(l.proj.Users, user)
}

func (l *loader) addDirectory(sc *scope, d *schema.Directory) {
	p, a, ok := l.str(sc, d.Attrs, "path")
	if !ok {
		return
	}
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		l.errorf(a.Expr.Range(), "Invalid directory path", "A directory is an absolute, clean path inside the container, such as \"/data\"; %q is not.", p)
		return
	}
	dir := runspec.Directory{Path: p, Mode: 0o755}
	if u, a, ok := l.str(sc, d.Attrs, "user"); ok {
		dir.User = u
		l.userAttr["directory "+p] = a.Expr.Range()
	}
	if g, _, ok := l.str(sc, d.Attrs, "group"); ok {
		dir.Group = g
	}
	if m, a, ok := l.str(sc, d.Attrs, "mode"); ok {
		n, err := strconv.ParseUint(m, 8, 32)
		if err != nil || n > 0o7777 {
			l.errorf(a.Expr.Range(), "Invalid mode", "A mode is an octal string such as \"0750\", not %q.", m)
		} else {
			dir.Mode = uint32(n)
		}
	}
	for _, have := range l.proj.Directories {
		if have.Path == dir.Path {
			if have != dir {
				l.errorf(d.DeclRange, "Conflicting directory", "Directory %s is declared differently at %s.", p, l.dirDecl[p])
			}
			return
		}
	}
	l.dirDecl[p] = d.DeclRange
	l.proj.Directories = append(l.proj.Directories, dir)
}

var storeName = regexp.MustCompile(`^[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]*$`)

func (l *loader) addGeneratedFile(sc *scope, fb *schema.FileBlock) {
	file := File{Key: l.name(sc, fb.Name), Name: fb.Name, DeclRange: fb.DeclRange}
	if n, a, ok := l.str(sc, fb.Attrs, "name"); ok {
		if !storeName.MatchString(n) || len(n) > 200 {
			l.errorf(a.Expr.Range(), "Invalid file name", "A file name may hold letters, digits and + . _ ? = -, and must not start with a dot; %q does not fit.", n)
			return
		}
		file.Name = n
	}
	text, _, ok := l.str(sc, fb.Attrs, "text")
	if !ok {
		return
	}
	file.Text = text
	file.Executable, _ = l.boolean(sc, fb.Attrs, "executable")
	if c, a, ok := l.str(sc, fb.Attrs, "check"); ok {
		if strings.TrimSpace(c) == "" || strings.ContainsRune(c, 0) {
			l.errorf(a.Expr.Range(), "Invalid check", "A check is a command line run at build time, such as \"${pkgs.nginx}/bin/nginx -t -c $out\"; $out stands for the file.")
		}
		file.Check = c
		file.CheckRange = a.Expr.Range()
	}
	if sc.instance != "" {
		// A module's file fails its check because of the values the
		// module was given: point at the module block.
		file.DeclRange, file.CheckRange = sc.decl, sc.decl
	}
	l.proj.Files = append(l.proj.Files, file)
}

var signalNames = []string{"TERM", "INT", "QUIT", "HUP", "KILL", "USR1", "USR2"}

func (l *loader) addService(sc *scope, s *schema.Service) {
	name := l.name(sc, s.Name)
	// A module's declarations are reported where the module is used.
	at := s.NameRange
	if sc.instance != "" {
		at = sc.decl
	}
	if prev, dup := l.serviceDecl[name]; dup {
		l.errorf(at, "Duplicate service name", "A service named %q is already declared at %s. Rename one of them (a module's main service takes the module's name).", name, prev)
		return
	}
	l.serviceDecl[name] = at
	svc := Service{Service: runspec.Service{Name: name}, DeclRange: s.DeclRange}
	cmd, a, ok := l.str(sc, s.Attrs, "command")
	if ok && strings.TrimSpace(cmd) == "" {
		l.errorf(a.Expr.Range(), "Empty command", "A service needs a command to run.")
	}
	svc.Command = cmd
	if a := s.Attrs["environment"]; a != nil {
		if env, ok := l.strMap(sc, a.Expr, "attribute \"environment\""); ok {
			for _, k := range sortedKeys(env) {
				if !validEnvName(k) {
					l.errorf(a.Expr.Range(), "Invalid environment variable name", "%q is not a valid environment variable name: use letters, digits and underscores, not starting with a digit.", k)
				}
				l.warnSecret(a.Expr, k, env[k])
			}
			svc.Environment = env
		}
	}
	if d, a, ok := l.str(sc, s.Attrs, "directory"); ok {
		if !path.IsAbs(d) && !strings.HasPrefix(d, markOpen) {
			l.errorf(a.Expr.Range(), "Invalid directory", "A service's working directory is an absolute path, not %q.", d)
		}
		svc.Directory = d
	}
	if u, a, ok := l.str(sc, s.Attrs, "user"); ok {
		svc.User = u
		l.userAttr["service "+name] = a.Expr.Range()
	}
	if after, a, ok := l.strList(sc, s.Attrs, "after"); ok {
		for _, dep := range after {
			if sc.services[dep] {
				dep = l.name(sc, dep)
			}
			svc.After = append(svc.After, dep)
		}
		l.afterAttr[name] = a.Expr.Range()
	}
	if a := s.Attrs["autorestart"]; a != nil {
		if v, ok := l.eval(sc, a.Expr); ok {
			switch {
			case v.Type() == cty.Bool && !v.IsNull():
				svc.Autorestart = strconv.FormatBool(v.True())
			case v.Type() == cty.String && !v.IsNull() && (v.AsString() == "unexpected" || v.AsString() == "true" || v.AsString() == "false"):
				svc.Autorestart = v.AsString()
			default:
				l.errorf(a.Expr.Range(), "Invalid autorestart", "autorestart is true, false or \"unexpected\", as in supervisord.")
			}
		}
	}
	if n, ok := l.integer(sc, s.Attrs, "startsecs", 0, 3600); ok {
		svc.StartSecs = &n
	}
	if n, ok := l.integer(sc, s.Attrs, "startretries", 0, 1000); ok {
		svc.StartRetries = &n
	}
	if n, ok := l.integer(sc, s.Attrs, "stopwaitsecs", 0, 3600); ok {
		svc.StopWaitSecs = &n
	}
	if codes, ok := l.intList(sc, s.Attrs, "exitcodes", 0, 255); ok {
		svc.ExitCodes = codes
	}
	if sig, a, ok := l.str(sc, s.Attrs, "stopsignal"); ok {
		sig = strings.TrimPrefix(strings.ToUpper(sig), "SIG")
		if !slices.Contains(signalNames, sig) {
			l.errorf(a.Expr.Range(), "Unknown signal", "stopsignal is one of %s.", strings.Join(signalNames, ", "))
		}
		svc.StopSignal = sig
	}
	if sigs, a, ok := l.strList(sc, s.Attrs, "signals"); ok {
		for _, sig := range sigs {
			sig = strings.TrimPrefix(strings.ToUpper(sig), "SIG")
			if sig != "HUP" && sig != "USR1" && sig != "USR2" {
				l.errorf(a.Expr.Range(), "Unknown signal", "signals lists signals to pass on to the service: HUP, USR1 or USR2, not %q.", sig)
			}
			svc.Signals = append(svc.Signals, sig)
		}
	}
	for _, flag := range []struct {
		name string
		set  func(bool)
	}{
		{"stopasgroup", func(b bool) { svc.StopAsGroup = &b }},
		{"killasgroup", func(b bool) { svc.KillAsGroup = &b }},
		{"oneshot", func(b bool) { svc.OneShot = b }},
		{"critical", func(b bool) { svc.Critical = b }},
	} {
		if b, ok := l.boolean(sc, s.Attrs, flag.name); ok {
			flag.set(b)
		}
	}
	if svc.OneShot && svc.Autorestart == runspec.RestartAlways {
		l.errorf(s.Attrs["autorestart"].Expr.Range(), "One-shot service restarted", "A oneshot service runs to completion once; it cannot also have autorestart = true.")
	}
	for _, dep := range sc.after {
		if !slices.Contains(svc.After, dep) {
			svc.After = append(svc.After, dep)
		}
		if _, ok := l.afterAttr[name]; !ok {
			l.afterAttr[name] = sc.decl
		}
	}
	if s.Ready != nil {
		r := &runspec.Ready{}
		if n, ok := l.integer(sc, s.Ready.Attrs, "tcp", 1, 65535); ok {
			r.TCP = n
			rat := s.Ready.Attrs["tcp"].Expr.Range()
			if sc.instance != "" {
				rat = sc.decl
			}
			if prev, clash := l.readyPort[n]; clash && !l.portClash[n] {
				l.errorf(rat, "Two services on one port", "Services %q and %q both listen on port %d (declared at %s). Give one of them another port.", prev.owner, name, n, prev.at)
			} else {
				l.readyPort[n] = portDecl{owner: name, at: rat}
			}
		}
		if c, _, ok := l.str(sc, s.Ready.Attrs, "command"); ok {
			r.Command = c
		}
		if n, ok := l.integer(sc, s.Ready.Attrs, "timeout", 1, 86400); ok {
			r.Timeout = n
		}
		_, hasTCP := s.Ready.Attrs["tcp"]
		_, hasCmd := s.Ready.Attrs["command"]
		switch {
		case !hasTCP && !hasCmd:
			l.errorf(s.Ready.DeclRange, "Empty ready block", "A ready block says how to tell the service is up: tcp = PORT or command = \"...\".")
		case hasTCP && hasCmd:
			l.errorf(s.Ready.DeclRange, "Conflicting readiness checks", "A ready block has either tcp or command, not both.")
		}
		svc.Ready = r
	}
	l.proj.Services = append(l.proj.Services, svc)
}

// moduleSource resolves a module's source to its text and the directory
// its path() calls are relative to ("" for built-in modules).
func (l *loader) moduleSource(sc *scope, m *schema.Module) (src []byte, filename, dir, id string, ok bool) {
	source, rng := m.Name, m.NameRange
	if m.Source != nil {
		v, ok := l.typed(sc, m.Source, cty.String, "attribute \"source\"")
		if !ok {
			return nil, "", "", "", false
		}
		source, rng = v.AsString(), m.Source.Range()
	}
	if strings.HasPrefix(source, "./") || strings.HasPrefix(source, "../") {
		if sc.dir == "" {
			l.errorf(rng, "Invalid module source", "A built-in module cannot use modules by relative path.")
			return nil, "", "", "", false
		}
		p := filepath.Join(sc.dir, filepath.FromSlash(source))
		b, err := os.ReadFile(p)
		if err != nil {
			l.errorf(rng, "Cannot read module", "Module %q: %s.", source, err)
			return nil, "", "", "", false
		}
		rel, err := filepath.Rel(l.proj.Dir, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = p
		}
		return b, rel, filepath.Dir(p), p, true
	}
	if b, ok := modules.Source(source); ok {
		return b, "<built-in>/" + source + ".hcl", "", "builtin:" + source, true
	}
	detail := fmt.Sprintf("There is no built-in module named %q.%s Built-in modules: %s. A module of your own is named by a relative path, such as \"./modules/x.hcl\".",
		source, suggest(source, modules.Names()), strings.Join(modules.Names(), ", "))
	summary := "Unknown module"
	l.errorf(rng, summary, "%s", detail)
	return nil, "", "", "", false
}

func (l *loader) addModule(sc *scope, m *schema.Module, chain []string) {
	src, filename, dir, id, ok := l.moduleSource(sc, m)
	if !ok {
		return
	}
	if slices.Contains(chain, id) || len(chain) >= maxModuleDepth {
		l.errorf(m.DeclRange, "Module cycle", "Module %q uses itself, through %s.", id, strings.Join(append(chain, id), " -> "))
		return
	}
	f, diags := schema.Parse(l.parser, src, filename, schema.ModuleFile)
	l.diags = append(l.diags, diags...)
	if f == nil || diags.HasErrors() {
		return
	}
	instance := l.name(sc, m.Name)
	msc := &scope{instance: instance, dir: dir, decl: m.DeclRange, after: sc.after}
	if m.After != nil {
		after, ok := l.typed(sc, m.After, cty.List(cty.String), "attribute \"after\"")
		if !ok {
			return
		}
		for it := after.ElementIterator(); it.Next(); {
			_, e := it.Element()
			dep := e.AsString()
			if sc.services[dep] {
				dep = l.name(sc, dep)
			}
			msc.after = append(msc.after, dep)
		}
		if len(msc.after) > 0 {
			l.afterAttr["module "+instance] = m.After.Range()
		}
	}
	// Options: declared types, given values (evaluated where the module
	// is used) or defaults (evaluated in the module).
	declared := map[string]*schema.Option{}
	var names []string
	for _, o := range f.Options {
		declared[o.Name] = o
		names = append(names, o.Name)
	}
	for _, a := range sortedAttrs(m.Options) {
		if declared[a.Name] == nil {
			l.errorf(a.NameRange, "Unsupported option", "Module %q has no option named %q.%s Its options: %s.", id, a.Name, suggest(a.Name, names), strings.Join(sortedStrings(names), ", "))
		}
	}
	values := map[string]cty.Value{}
	failed := false
	for _, o := range f.Options {
		ty := cty.DynamicPseudoType
		if o.Type != nil {
			t, d := typeexpr.TypeConstraint(o.Type)
			l.diags = append(l.diags, d...)
			if d.HasErrors() {
				failed = true
				continue
			}
			ty = t
		}
		what := fmt.Sprintf("option %q of module %q", o.Name, m.Name)
		var v cty.Value
		var ok bool
		if a := m.Options[o.Name]; a != nil {
			v, ok = l.typed(sc, a.Expr, ty, what)
		} else if o.Default != nil {
			v, ok = l.typed(&scope{instance: instance, dir: dir}, o.Default, ty, what)
		} else {
			l.errorf(m.DeclRange, "Missing required option", "Module %q needs option %q (%s): %s", m.Name, o.Name, ty.FriendlyName(), o.Description)
		}
		if !ok {
			failed = true
			continue
		}
		at := m.DeclRange
		if a := m.Options[o.Name]; a != nil {
			at = a.Expr.Range()
		}
		if !l.validate(&scope{instance: instance, dir: dir, value: v}, o, at) {
			failed = true
			continue
		}
		values[o.Name] = v
	}
	if failed {
		return
	}
	msc.options = cty.ObjectVal(values)
	l.addFile(msc, f, append(chain, id))
}

var secretName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)`)

// warnSecret warns when a value that looks like a secret is written into
// the file: it would land in the world-readable Nix store and the image.
func (l *loader) warnSecret(expr hcl.Expression, name, value string) {
	if value == "" || !secretName.MatchString(name) || l.proj.HasRefs(value) {
		return
	}
	rng := expr.Range()
	if obj, ok := expr.(*hclsyntax.ObjectConsExpr); ok {
		for _, item := range obj.Items {
			if k, d := item.KeyExpr.Value(nil); !d.HasErrors() && k.Type() == cty.String && k.AsString() == name {
				rng = hcl.RangeBetween(item.KeyExpr.Range(), item.ValueExpr.Range())
			}
		}
	}
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "Secret in the image",
		Detail: fmt.Sprintf("%s looks like a secret. Values written here end up in the world-readable Nix store and in every copy of the image. "+
			"Leave it out and pass it when the container starts: docker run -e %s=... (the init passes its environment on to services).", name, name),
		Subject: rng.Ptr(),
	})
}

// addNixpkgs reads the pinned package set.
func (l *loader) addNixpkgs(sc *scope, n *schema.Nixpkgs) {
	pin := &Pin{}
	p, pa, hasPath := l.str(sc, n.Attrs, "path")
	u, ua, hasURL := l.str(sc, n.Attrs, "url")
	h, _, hasHash := l.str(sc, n.Attrs, "sha256")
	switch {
	case hasPath && (hasURL || hasHash):
		l.errorf(n.DeclRange, "Conflicting nixpkgs pin", "Pin the package set either by path, or by url and sha256, not both.")
		return
	case hasPath:
		if l.proj.HasRefs(p) {
			l.errorf(pa.Expr.Range(), "Invalid nixpkgs path", "The nixpkgs path is a plain path, relative to the HCL file or absolute.")
			return
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(sc.dir, p)
		}
		if _, err := os.Stat(p); err != nil {
			l.errorf(pa.Expr.Range(), "Package set not found", "%s does not exist.", p)
			return
		}
		pin.Path = p
	case hasURL && hasHash:
		if !strings.Contains(u, "://") {
			l.errorf(ua.Expr.Range(), "Invalid nixpkgs url", "A nixpkgs url points at a tarball, such as \"https://github.com/NixOS/nixpkgs/archive/<commit>.tar.gz\".")
			return
		}
		pin.URL, pin.SHA256 = u, h
	case hasURL:
		l.errorf(n.DeclRange, "Missing sha256", "A nixpkgs url needs its sha256, so the build stays reproducible (nix-prefetch-url --unpack URL prints it).")
		return
	default:
		l.errorf(n.DeclRange, "Empty nixpkgs block", "Pin the package set with path = \"...\", or with url and sha256.")
		return
	}
	l.proj.Nixpkgs = pin
}

// validate runs an option's validation blocks against its value; errors
// point at the value (or the module block, for a default).
func (l *loader) validate(sc *scope, o *schema.Option, at hcl.Range) bool {
	for _, v := range o.Validations {
		cond, ok := l.typed(sc, v.Condition, cty.Bool, "a validation condition")
		if !ok {
			return false
		}
		if cond.True() {
			continue
		}
		msg, ok := l.typed(sc, v.ErrorMessage, cty.String, "a validation error_message")
		if !ok {
			return false
		}
		l.errorf(at, "Invalid option value", "Option %q: %s", o.Name, msg.AsString())
		return false
	}
	return true
}

// check validates what only the whole project can tell.
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
			l.errorf(l.userAttr["service "+s.Name], "Unknown user", "Service %q runs as user %q, which is not declared. Declare it with a user block.%s", s.Name, s.User, suggest(s.User, l.userNames()))
		}
		for _, dep := range s.After {
			if l.proj.Service(dep) == nil {
				l.errorf(l.afterAttr[s.Name], "Unknown service", "Service %q starts after %q, which is not declared.%s", s.Name, dep, suggest(dep, serviceNames))
			} else if dep == s.Name {
				l.errorf(l.afterAttr[s.Name], "Service after itself", "Service %q cannot start after itself.", s.Name)
			}
		}
	}
	for _, d := range l.proj.Directories {
		if d.User != "" && !users[d.User] {
			l.errorf(l.userAttr["directory "+d.Path], "Unknown user", "Directory %s belongs to user %q, which is not declared.%s", d.Path, d.User, suggest(d.User, l.userNames()))
		}
		if d.Group != "" && !groups[d.Group] {
			l.errorf(l.dirDecl[d.Path], "Unknown group", "Directory %s belongs to group %q, which is not declared.%s", d.Path, d.Group, suggest(d.Group, l.groupNames()))
		}
	}
	if l.diags.HasErrors() {
		return
	}
	if err := l.proj.Spec().Validate(); err != nil && !strings.Contains(err.Error(), "cycle") {
		// The checks above mirror runspec's; this catches what they miss
		// rather than letting the init refuse the image at start.
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid service configuration",
			Detail:   capital(err.Error()) + ".",
			Subject:  &hcl.Range{Filename: l.proj.File, Start: hcl.InitialPos, End: hcl.InitialPos},
		})
		return
	}
	if _, err := l.proj.Spec().StartOrder(); err != nil {
		rng := hcl.Range{}
		for _, s := range l.proj.Services {
			if r, ok := l.afterAttr[s.Name]; ok {
				rng = r
				break
			}
		}
		l.errorf(rng, "Dependency cycle", "%s. Remove one of the after entries.", capital(err.Error()))
	}
	if len(l.proj.Services) == 0 {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No services",
			Detail:   "The image runs no service: declare a service block or use a module.",
			Subject:  &hcl.Range{Filename: l.proj.File, Start: hcl.InitialPos, End: hcl.InitialPos},
		})
	}
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
