package project

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nix-docker/nix-docker/internal/runspec"
	"github.com/nix-docker/nix-docker/schema"
)

// Service is a service with where it was declared.
type Service struct {
	runspec.Service
	DeclRange hcl.Range
}

// serviceDecoder decodes one service block.
type serviceDecoder struct {
	l   *loader
	sc  *scope
	s   *schema.Service
	svc *Service
}

// serviceAttrs decode each attribute of a service block into the
// runspec's service: the one place a service option is read. Every name
// in schema.ServiceAttributes has an entry (a test checks).
var serviceAttrs = map[string]func(d *serviceDecoder, a *hcl.Attribute){
	"command":      (*serviceDecoder).command,
	"environment":  (*serviceDecoder).environment,
	"directory":    (*serviceDecoder).directory,
	"user":         (*serviceDecoder).user,
	"after":        (*serviceDecoder).after,
	"autorestart":  (*serviceDecoder).autorestart,
	"startsecs":    intAttr(0, 3600, func(s *runspec.Service, n int) { s.StartSecs = &n }),
	"startretries": intAttr(0, 1000, func(s *runspec.Service, n int) { s.StartRetries = &n }),
	"stopwaitsecs": intAttr(0, 3600, func(s *runspec.Service, n int) { s.StopWaitSecs = &n }),
	"exitcodes":    (*serviceDecoder).exitcodes,
	"stopsignal":   (*serviceDecoder).stopsignal,
	"signals":      (*serviceDecoder).signals,
	"stopasgroup":  boolAttr(func(s *runspec.Service, b bool) { s.StopAsGroup = &b }),
	"killasgroup":  boolAttr(func(s *runspec.Service, b bool) { s.KillAsGroup = &b }),
	"oneshot":      boolAttr(func(s *runspec.Service, b bool) { s.OneShot = b }),
	"critical":     boolAttr(func(s *runspec.Service, b bool) { s.Critical = b }),
	// What the init does between restarts (docs/init.md), with systemd's
	// names: KillMode=process, RestartSec, StartLimitBurst,
	// StartLimitIntervalSec; and the cap of supervisord's backoff.
	"leavechildren":         boolAttr(func(s *runspec.Service, b bool) { s.LeaveChildren = b }),
	"restartsec":            (*serviceDecoder).restartsec,
	"startlimitburst":       intAttr(1, 1000, func(s *runspec.Service, n int) { s.StartLimitBurst = &n }),
	"startlimitintervalsec": intAttr(1, 86400, func(s *runspec.Service, n int) { s.StartLimitIntervalSec = &n }),
	"maxbackoffsecs":        intAttr(1, 86400, func(s *runspec.Service, n int) { s.MaxBackoffSecs = &n }),
}

// restartsec is a number of seconds, fractions allowed.
func (d *serviceDecoder) restartsec(a *hcl.Attribute) {
	v, ok := d.l.typed(d.sc, a.Expr, cty.Number, fmt.Sprintf("attribute %q", a.Name))
	if !ok {
		return
	}
	f, _ := v.AsBigFloat().Float64()
	if f < runspec.MinRestartSec || f > 86400 {
		d.l.errorf(a.Expr.Range(), "Value out of range", "restartsec is a number of seconds from %g to 86400, not %g.", runspec.MinRestartSec, f)
		return
	}
	d.svc.RestartSec = &f
}

func intAttr(min, max int64, set func(*runspec.Service, int)) func(*serviceDecoder, *hcl.Attribute) {
	return func(d *serviceDecoder, a *hcl.Attribute) {
		if n, ok := d.l.integer(d.sc, d.s.Attrs, a.Name, min, max); ok {
			set(&d.svc.Service, n)
		}
	}
}

func boolAttr(set func(*runspec.Service, bool)) func(*serviceDecoder, *hcl.Attribute) {
	return func(d *serviceDecoder, a *hcl.Attribute) {
		if b, ok := d.l.boolean(d.sc, d.s.Attrs, a.Name); ok {
			set(&d.svc.Service, b)
		}
	}
}

func (l *loader) addService(sc *scope, s *schema.Service) {
	name := l.name(sc, s.Name)
	// A module's declarations are reported where the module is used.
	at := s.NameRange
	if sc.instance != "" {
		at = sc.decl
	}
	if prev, dup := l.decls[decl{"service", name}]; dup {
		l.errorf(at, "Duplicate service name", "A service named %q is already declared at %s. Rename one of them (a module's main service takes the module's name).", name, prev)
		return
	}
	l.decls[decl{"service", name}] = at
	d := &serviceDecoder{l: l, sc: sc, s: s, svc: &Service{Service: runspec.Service{Name: name}, DeclRange: s.DeclRange}}
	for _, as := range schema.ServiceAttributes {
		if a := s.Attrs[as.Name]; a != nil {
			serviceAttrs[as.Name](d, a)
		}
	}
	svc := d.svc
	if svc.OneShot && svc.Autorestart == runspec.RestartAlways {
		l.errorf(s.Attrs["autorestart"].Expr.Range(), "One-shot service restarted", "A oneshot service runs to completion once; it cannot also have autorestart = true.")
	}
	for _, dep := range sc.after {
		if !slices.Contains(svc.After, dep) {
			svc.After = append(svc.After, dep)
		}
		if _, ok := l.decls[decl{"after", name}]; !ok {
			l.decls[decl{"after", name}] = sc.decl
		}
	}
	if s.Ready != nil {
		svc.Ready = d.ready(s.Ready)
	}
	l.proj.Services = append(l.proj.Services, *svc)
}

func (d *serviceDecoder) command(a *hcl.Attribute) {
	cmd, _, ok := d.l.str(d.sc, d.s.Attrs, a.Name)
	if ok && strings.TrimSpace(cmd) == "" {
		d.l.errorf(a.Expr.Range(), "Empty command", "A service needs a command to run.")
	} else if ok {
		d.splits(a.Expr.Range(), cmd)
	}
	d.svc.Command = cmd
}

// splits reports a command line the init cannot split into words (an
// unterminated quote), where it was written: in a module's instance, at
// the module block.
func (d *serviceDecoder) splits(at hcl.Range, cmd string) {
	var b strings.Builder
	for _, part := range d.l.proj.Split(cmd) {
		if part.Ref != nil {
			b.WriteString("/nix/store/ref") // a store path: no character the splitter treats specially
		} else {
			b.WriteString(part.Lit)
		}
	}
	if _, err := runspec.SplitWords(b.String()); err != nil {
		if d.sc.instance != "" {
			at = d.sc.decl
		}
		d.l.errorf(at, "Command cannot be split", "The init splits a command line into words as sh does, with quotes and backslashes but no expansion; this one has an %v: %s", err, d.l.proj.show(cmd))
	}
}

func (d *serviceDecoder) environment(a *hcl.Attribute) {
	env, ok := d.l.strMap(d.sc, a.Expr, "attribute \"environment\"")
	if !ok {
		return
	}
	for _, k := range sortedKeys(env) {
		if !validEnvName(k) {
			d.l.errorf(a.Expr.Range(), "Invalid environment variable name", "%q is not a valid environment variable name: use letters, digits and underscores, not starting with a digit.", k)
		}
		d.l.warnSecret(a.Expr, k, env[k])
	}
	d.svc.Environment = env
}

func (d *serviceDecoder) directory(a *hcl.Attribute) {
	if dir, _, ok := d.l.str(d.sc, d.s.Attrs, a.Name); ok {
		if !path.IsAbs(dir) && !strings.HasPrefix(dir, markOpen) {
			d.l.errorf(a.Expr.Range(), "Invalid directory", "A service's working directory is an absolute path, not %q.", dir)
		}
		d.svc.Directory = dir
	}
}

func (d *serviceDecoder) user(a *hcl.Attribute) {
	if u, _, ok := d.l.str(d.sc, d.s.Attrs, a.Name); ok {
		d.svc.User = u
		at := a.Expr.Range()
		if d.sc.instance != "" && d.sc.dir == "" {
			at = d.sc.decl // a built-in module's user is an option of the block
		}
		d.l.decls[decl{"service user", d.svc.Name}] = at
	}
}

func (d *serviceDecoder) after(a *hcl.Attribute) {
	after, _, ok := d.l.strList(d.sc, d.s.Attrs, a.Name)
	if !ok {
		return
	}
	for _, dep := range after {
		if d.sc.services[dep] {
			dep = d.l.name(d.sc, dep)
		}
		d.svc.After = append(d.svc.After, dep)
	}
	d.l.decls[decl{"after", d.svc.Name}] = a.Expr.Range()
}

func (d *serviceDecoder) autorestart(a *hcl.Attribute) {
	v, ok := d.l.eval(d.sc, a.Expr)
	if !ok {
		return
	}
	switch {
	case v.Type() == cty.Bool && !v.IsNull():
		d.svc.Autorestart = strconv.FormatBool(v.True())
	case v.Type() == cty.String && !v.IsNull() && slices.Contains([]string{runspec.RestartUnexpected, runspec.RestartAlways, runspec.RestartNever}, v.AsString()):
		d.svc.Autorestart = v.AsString()
	default:
		d.l.errorf(a.Expr.Range(), "Invalid autorestart", "autorestart is true, false or \"unexpected\", as in supervisord.")
	}
}

func (d *serviceDecoder) exitcodes(a *hcl.Attribute) {
	if codes, ok := d.l.intList(d.sc, d.s.Attrs, a.Name, 0, 255); ok {
		d.svc.ExitCodes = codes
	}
}

// signalName is a signal's name as runspec spells it: upper case,
// without SIG.
func signalName(s string) string { return strings.TrimPrefix(strings.ToUpper(s), "SIG") }

func (d *serviceDecoder) stopsignal(a *hcl.Attribute) {
	sig, _, ok := d.l.str(d.sc, d.s.Attrs, a.Name)
	if !ok {
		return
	}
	sig = signalName(sig)
	if !slices.Contains(runspec.StopSignals, sig) {
		d.l.errorf(a.Expr.Range(), "Unknown signal", "stopsignal is one of %s.", strings.Join(runspec.StopSignals, ", "))
	}
	d.svc.StopSignal = sig
}

func (d *serviceDecoder) signals(a *hcl.Attribute) {
	sigs, _, ok := d.l.strList(d.sc, d.s.Attrs, a.Name)
	if !ok {
		return
	}
	for _, sig := range sigs {
		sig = signalName(sig)
		if !slices.Contains(runspec.ForwardSignals, sig) {
			d.l.errorf(a.Expr.Range(), "Unknown signal", "signals lists signals to pass on to the service: %s, not %q.", strings.Join(runspec.ForwardSignals, ", "), sig)
		}
		d.svc.Signals = append(d.svc.Signals, sig)
	}
}

// ready decodes the service's ready block.
func (d *serviceDecoder) ready(rb *schema.Ready) *runspec.Ready {
	l, sc := d.l, d.sc
	r := &runspec.Ready{}
	if n, ok := l.integer(sc, rb.Attrs, "tcp", 1, 65535); ok {
		r.TCP = n
		at := rb.Attrs["tcp"].Expr.Range()
		if sc.instance != "" {
			at = sc.decl
		}
		if prev, clash := l.ports.ready[n]; clash && !l.ports.clash[n] {
			l.errorf(at, "Two services on one port", "Services %q and %q both listen on port %d (declared at %s). Give one of them another port.", prev.owner, d.svc.Name, n, prev.at)
		} else {
			l.ports.ready[n] = portDecl{owner: d.svc.Name, at: at}
		}
	}
	if c, _, ok := l.str(sc, rb.Attrs, "command"); ok {
		d.splits(rb.Attrs["command"].Expr.Range(), c)
		r.Command = c
	}
	if n, ok := l.integer(sc, rb.Attrs, "timeout", 1, 86400); ok {
		r.Timeout = n
	}
	_, hasTCP := rb.Attrs["tcp"]
	_, hasCmd := rb.Attrs["command"]
	switch {
	case !hasTCP && !hasCmd:
		l.errorf(rb.DeclRange, "Empty ready block", "A ready block says how to tell the service is up: tcp = PORT or command = \"...\".")
	case hasTCP && hasCmd:
		l.errorf(rb.DeclRange, "Conflicting readiness checks", "A ready block has either tcp or command, not both.")
	}
	return r
}
