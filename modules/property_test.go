package modules_test

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/nix-docker/nix-docker/init/supervise"
	"github.com/nix-docker/nix-docker/internal/project"
	"github.com/nix-docker/nix-docker/internal/testutil"
	"github.com/nix-docker/nix-docker/schema"
)

var randomValues = flag.Int("values", 12, "random values per option in TestOptionValues, besides the hand-picked ones")

// kind says how to make values for an option.
type kind int

const (
	text         kind = iota // any string
	pathKind                 // a directory: valid values are created under the test's directory
	hostPort                 // HOST:PORT
	hostList                 // hosts separated by sep
	textList                 // list(string)
	settingValue             // a value of the map option settings, as {"nixdocker.test" = v}
)

type option struct {
	name     string
	kind     kind
	sep      string // hostList, or words of a text option (server_name)
	optional bool   // "" is allowed, and changes the file's structure
}

// moduleCase is one built-in module: the options set to plain values,
// the ones the test varies, and the checker of each file it writes.
type moduleCase struct {
	module  string
	fixed   map[string]string // option -> HCL expression
	vary    []option
	checker map[string]checker // generated file's name -> its program's check
}

// checker runs a file's own program on it; want is the value the option
// under test was given, which some programs print back.
type checker func(t *testing.T, env *testEnv, file, text string, o option, want string) error

// TestOptionValues renders hand-picked and random values through every
// built-in module, one option at a time. A value is either refused with
// an error in the app file, or lands in the generated files so that
// each file passes its own program's check (httpd -t, nginx -t,
// lighttpd -tt, php-fpm -t, php, redis-server, postgres -C, sh -n), holds
// the same directives as with a plain value (readers_test.go), and the
// services' commands split into as many words, the value whole in one.
// The programs are Debian's, run directly on the host; the option values
// that reach them are the test's, never the package paths of the image.
func TestOptionValues(t *testing.T) {
	testutil.NeedCommand(t, "apache2", "nginx", "lighttpd", "php-fpm8.2", "php8.2", "redis-server", "runuser", "sh")
	testutil.NeedRoot(t) // postgres -C runs as nobody
	env := newTestEnv(t)
	for _, mc := range moduleCases(env) {
		t.Run(mc.module, func(t *testing.T) {
			for _, o := range mc.vary {
				rng := rand.New(rand.NewSource(int64(len(mc.module)*131 + len(o.name))))
				values := append(append([]string(nil), nastyValues(env, o)...), randomOf(rng, env, o, *randomValues)...)
				accepted := 0
				for _, v := range values {
					if env.try(t, mc, o, v) {
						accepted++
					}
				}
				if accepted == 0 {
					t.Errorf("option %s: no value was accepted, so nothing was checked", o.name)
				}
				t.Logf("option %s: %d of %d values accepted and checked", o.name, accepted, len(values))
			}
		})
	}
}

func moduleCases(env *testEnv) []moduleCase {
	www := hclString(env.dir("www"))
	return []moduleCase{
		{
			module:  "httpd",
			fixed:   map[string]string{"package": hclString(env.pkg["httpd"]), "document_root": www},
			vary:    []option{{name: "document_root", kind: pathKind}, {name: "admin_addr", kind: text}, {name: "php_fpm", kind: hostPort, optional: true}},
			checker: map[string]checker{"httpd.conf": checkApache},
		},
		{
			module:  "nginx",
			fixed:   map[string]string{"package": hclString(env.pkg["nginx"]), "root": www},
			vary:    []option{{name: "root", kind: pathKind, optional: true}, {name: "server_name", kind: text, sep: " "}, {name: "php_fpm", kind: hostPort, optional: true}},
			checker: map[string]checker{"nginx.conf": checkNginx},
		},
		{
			module:  "static-site",
			fixed:   map[string]string{"root": www},
			vary:    []option{{name: "root", kind: pathKind}},
			checker: map[string]checker{"nginx.conf": checkNginx},
		},
		{
			module:  "redis",
			fixed:   map[string]string{"package": hclString(env.pkg["redis"]), "data_dir": hclString(env.dir("redis"))},
			vary:    []option{{name: "bind", kind: hostList, sep: " "}, {name: "data_dir", kind: pathKind}},
			checker: map[string]checker{"redis.conf": checkRedis},
		},
		{
			module:  "lighttpd",
			fixed:   map[string]string{"package": hclString(env.pkg["lighttpd"]), "document_root": www},
			vary:    []option{{name: "document_root", kind: pathKind}, {name: "php_fpm", kind: hostPort, optional: true}},
			checker: map[string]checker{"lighttpd.conf": checkLighttpd},
		},
		// php-fpm has no string option that reaches its files quoted:
		// extensions go into the Nix expression (pkgs.php.withExtensions),
		// held to attribute names by their validation, and php_ini is
		// written verbatim by design.
		{
			module:  "postgresql",
			fixed:   map[string]string{"package": hclString(env.pkg["postgresql"]), "data_dir": hclString(env.dir("pg"))},
			vary:    []option{{name: "listen", kind: hostList, sep: ","}, {name: "data_dir", kind: pathKind}, {name: "user", kind: text}, {name: "settings", kind: settingValue}},
			checker: map[string]checker{"postgresql.conf": checkPostgreSQL, "postgresql-init": checkShell},
		},
		{
			module:  "mysql",
			fixed:   map[string]string{"package": hclString(env.pkg["mariadb"]), "data_dir": hclString(env.dir("my"))},
			vary:    []option{{name: "bind", kind: hostList}, {name: "data_dir", kind: pathKind}, {name: "database", kind: text}},
			checker: map[string]checker{"mysql-init": checkShell},
		},
	}
}

// testEnv holds the test's directory, the host programs laid out as the
// modules expect their packages, and where store references point.
type testEnv struct {
	root string
	pkg  map[string]string
	n    int
}

func newTestEnv(t *testing.T) *testEnv {
	env := &testEnv{root: t.TempDir(), pkg: map[string]string{}}
	// postgres -C runs as nobody, who must reach the files.
	must(t, os.Chmod(filepath.Dir(env.root), 0o755))
	must(t, os.Chmod(env.root, 0o755))
	links := map[string][][2]string{
		"httpd":      {{"modules", "/usr/lib/apache2/modules"}, {"conf/mime.types", "/etc/mime.types"}, {"bin/httpd", "/usr/sbin/apache2"}},
		"nginx":      {{"conf/mime.types", "/etc/nginx/mime.types"}, {"conf/fastcgi_params", "/etc/nginx/fastcgi_params"}, {"bin/nginx", "/usr/sbin/nginx"}},
		"redis":      {{"bin/redis-server", "/usr/bin/redis-server"}},
		"lighttpd":   {{"lib", "/usr/lib/lighttpd"}, {"sbin/lighttpd", "/usr/sbin/lighttpd"}},
		"php":        {{"lib/php/extensions", "/usr/lib/php/20220829"}, {"bin/php-fpm", "/usr/sbin/php-fpm8.2"}, {"bin/php", "/usr/bin/php8.2"}},
		"postgresql": {{"bin/postgres", "/usr/lib/postgresql/15/bin/postgres"}},
		"mariadb":    {{"bin/mariadbd", "/usr/sbin/mariadbd"}},
		"busybox":    {{"bin/sh", "/bin/sh"}},
		"tzdata":     {{"share/zoneinfo", "/usr/share/zoneinfo"}},
	}
	for name, ls := range links {
		dir := filepath.Join(env.root, "pkgs", name)
		for _, l := range ls {
			p := filepath.Join(dir, l[0])
			must(t, os.MkdirAll(filepath.Dir(p), 0o755))
			must(t, os.Symlink(l[1], p))
		}
		env.pkg[name] = dir
	}
	env.pkg["apacheHttpd"] = env.pkg["httpd"]
	return env
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// dir makes a directory under the test's directory and returns its path.
func (env *testEnv) dir(name string) string {
	p := filepath.Join(env.root, "dirs", name)
	os.MkdirAll(p, 0o755)
	return p
}

// try loads an app using the module with option o set to v. It reports
// whether the value was accepted (and then checked).
func (env *testEnv) try(t *testing.T, mc moduleCase, o option, v string) bool {
	t.Helper()
	p, diags, app := env.load(t, mc, o, v)
	if diags.HasErrors() {
		for _, d := range diags {
			if d.Subject == nil || d.Subject.Filename != app {
				t.Errorf("%s = %q: error not located in the app file: %s", o.name, v, d.Error())
			}
		}
		return false
	}
	b := benign(o, v)
	if o.kind == pathKind && strings.HasPrefix(v, env.root+"/") {
		// Programs that check the directory find it (under its exact
		// name only).
		os.MkdirAll(v, 0o755)
		os.MkdirAll(b, 0o755)
	}
	pb, diags, _ := env.load(t, mc, o, b)
	if diags.HasErrors() {
		t.Fatalf("%s = %q: the plain value %q is refused: %s", o.name, v, b, diags.Error())
	}
	files, plain := env.render(t, p), env.render(t, pb)
	for name, check := range mc.checker {
		f, ok := files[name]
		if !ok {
			t.Fatalf("module %s wrote no %s", mc.module, name)
		}
		if err := check(t, env, f.path, f.text, o, v); err != nil {
			t.Errorf("%s = %q: %s: %v\n%s", o.name, v, name, err, f.text)
			continue
		}
		if err := sameDirectives(name, f.text, plain[name].text); err != nil {
			t.Errorf("%s = %q: %s: %v", o.name, v, name, err)
		}
	}
	env.checkCommands(t, p, pb, o, v, b)
	return true
}

// rendered is a generated file written out for its program.
type rendered struct{ path, text string }

func (env *testEnv) load(t *testing.T, mc moduleCase, o option, v string) (*project.Project, hcl.Diagnostics, string) {
	t.Helper()
	env.n++
	dir := filepath.Join(env.root, "apps", fmt.Sprint(env.n))
	must(t, os.MkdirAll(dir, 0o755))
	var b strings.Builder
	fmt.Fprintf(&b, "module \"m\" {\n  source = %q\n", mc.module)
	var names []string
	for k := range mc.fixed {
		if k != o.name {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "  %s = %s\n", k, mc.fixed[k])
	}
	fmt.Fprintf(&b, "  %s = %s\n}\n", o.name, valueExpr(o, v))
	app := filepath.Join(dir, "app.hcl")
	must(t, os.WriteFile(app, []byte(b.String()), 0o644))
	p, diags := project.Load(schema.NewParser(), app)
	return p, diags, app
}

// render writes every generated file of p under the test's directory,
// references replaced by the host directories standing for them.
func (env *testEnv) render(t *testing.T, p *project.Project) map[string]rendered {
	t.Helper()
	env.n++
	dir := filepath.Join(env.root, "files", fmt.Sprint(env.n))
	must(t, os.MkdirAll(dir, 0o755))
	out := map[string]rendered{}
	paths := map[string]string{}
	for _, f := range p.Files {
		paths[f.Key] = filepath.Join(dir, f.Name)
	}
	for _, f := range p.Files {
		text := env.resolve(t, p, f.Text, paths)
		must(t, os.WriteFile(paths[f.Key], []byte(text), 0o644))
		out[f.Name] = rendered{path: paths[f.Key], text: text}
	}
	return out
}

// resolve replaces the references in s: packages by the host's
// programs, generated files by where render wrote them.
func (env *testEnv) resolve(t *testing.T, p *project.Project, s string, files map[string]string) string {
	var b strings.Builder
	for _, part := range p.Split(s) {
		switch {
		case part.Ref == nil:
			b.WriteString(part.Lit)
		case part.Ref.Kind == project.PkgRef && env.pkg[part.Ref.Attr[0]] != "":
			b.WriteString(env.pkg[part.Ref.Attr[0]])
		case part.Ref.Kind == project.FileRef && files == nil:
			b.WriteString("/nix/store/00000000000000000000000000000000-" + part.Ref.File)
		case part.Ref.Kind == project.FileRef:
			b.WriteString(files[part.Ref.File])
		default:
			t.Fatalf("no stand-in for %s", part.Ref)
		}
	}
	return b.String()
}

// checkCommands splits each service's command as the init does: the
// same number of words as with the plain value, and the value whole
// where the plain value was.
func (env *testEnv) checkCommands(t *testing.T, p, pb *project.Project, o option, v, b string) {
	t.Helper()
	for _, s := range p.Services {
		sb := pb.Service(s.Name)
		got, err := supervise.SplitWords(env.resolve(t, p, s.Command, nil))
		if err != nil {
			t.Errorf("%s = %q: service %s: %v", o.name, v, s.Name, err)
			continue
		}
		want, _ := supervise.SplitWords(env.resolve(t, pb, sb.Command, nil))
		if len(got) != len(want) {
			t.Errorf("%s = %q: service %s's command has %d words, with a plain value %d: %q", o.name, v, s.Name, len(got), len(want), got)
			continue
		}
		for i := range want {
			if w := strings.ReplaceAll(want[i], b, v); got[i] != want[i] && got[i] != w {
				t.Errorf("%s = %q: service %s's word %d is %q, want %q", o.name, v, s.Name, i, got[i], w)
			}
		}
	}
}

var directiveReaders = map[string]func(string) ([]string, error){
	"httpd.conf":      apacheDirectives,
	"nginx.conf":      nginxDirectives,
	"redis.conf":      redisDirectives,
	"lighttpd.conf":   lighttpdDirectives,
	"php.ini":         iniDirectives,
	"php-fpm.conf":    iniDirectives,
	"postgresql.conf": postgresqlDirectives,
	"postgresql-init": shellCode,
	"mysql-init":      shellCode,
}

// shellCode is a module script past its block of values: the code,
// which no value may change.
func shellCode(text string) ([]string, error) {
	_, code, ok := strings.Cut(text, valuesEnd)
	if !ok {
		return nil, fmt.Errorf("no %q line", strings.TrimSpace(valuesEnd))
	}
	return []string{code}, nil
}

// sameDirectives compares the directives of a file with those of the
// file made with the plain value.
func sameDirectives(name, text, plain string) error {
	read := directiveReaders[name]
	got, err := read(text)
	if err != nil {
		return err
	}
	want, err := read(plain)
	if err != nil {
		return fmt.Errorf("the file with the plain value: %w", err)
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("directives %v, with a plain value %v", got, want)
	}
	return nil
}

// benign is a plain value of the same shape as v: what makes it special
// replaced by letters, the separators of lists kept.
func benign(o option, v string) string {
	keep := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	switch o.kind {
	case pathKind:
		keep += "/"
	case hostPort, hostList:
		return v // only hosts are accepted: plain already
	}
	keep += o.sep
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if strings.IndexByte(keep, v[i]) >= 0 {
			b.WriteByte(v[i])
		} else {
			b.WriteByte('x')
		}
	}
	return b.String()
}

// valueExpr is the HCL expression giving option o the value v.
func valueExpr(o option, v string) string {
	switch o.kind {
	case textList:
		return "[" + hclString(v) + ", \"json\"]"
	case settingValue:
		return "{ \"nixdocker.test\" = " + hclString(v) + " }"
	}
	return hclString(v)
}

// hclString writes s as an HCL string literal: escapes for quotes,
// backslashes and control characters, $${ and %%{ for template marks,
// and bytes that are not UTF-8 as they are (HCL must refuse them).
func hclString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteByte(s[i])
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		case (r == '$' || r == '%') && strings.HasPrefix(s[i+1:], "{"):
			b.WriteString(string(r) + string(r))
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
	return b.String()
}

// pieces are what the values are made of: what some target treats
// specially, and plain text.
var pieces = []string{
	"\n", "\r", "\t", " ", "\"", "'", "\\", "$", "${HOME}", "$(id)", "`id`", "#", ";", "{", "}", "%{x}", "\x00", "\x01", "\x7f",
	"\xff", "\xe2\x28", "é", "日本", "🚀", ":", ",", "/", "..", ".", "*", "-", "=", "<", ">", "&", "|", "\\n", "\\x41",
	"a", "b", "web", "0", "127.0.0.1", "::1", "localhost", "9000",
}

// nastyValues are hand-picked values for o: directive injections seen
// in the review, and each piece alone.
func nastyValues(env *testEnv, o option) []string {
	vs := []string{
		"0.0.0.0\nrequirepass x", "x\" + y", "a;\n}\nserver {", "/x\"\nListen 8080\n#", "$(touch /tmp/pwned)", "'; rm -rf /; '",
		"x\\", "\\", "", "a b", "${HOME}", "#comment", "a\x00b", "\xff\xfe",
	}
	// Each piece once: alone when some target refuses it, else five
	// at a time.
	var group []string
	for _, p := range pieces {
		if strings.IndexFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }) >= 0 {
			vs = append(vs, "a"+p+"b")
			continue
		}
		if group = append(group, p); len(group) == 5 {
			vs = append(vs, "a"+strings.Join(group, "")+"b")
			group = nil
		}
	}
	vs = append(vs, "a"+strings.Join(group, "")+"b")
	switch o.kind {
	case pathKind:
		var out []string
		for _, v := range vs {
			out = append(out, env.root+"/dirs/v/"+v)
		}
		return append(out, "/", "relative", env.root+"/dirs/../x", env.root+"/dirs//x")
	case hostPort:
		// Host names are left out: nginx -t resolves them.
		return append(vs, "127.0.0.1:9000", "[::1]:9000", "127.0.0.1:9000\nx", "127.0.0.1:9000;")
	case hostList:
		return append(vs, "0.0.0.0", "127.0.0.1"+o.sep+"::1", "*", "0.0.0.0\nrequirepass x", "0.0.0.0"+o.sep+"'x'")
	}
	return vs
}

// randomOf makes n random values for o from the pieces.
func randomOf(rng *rand.Rand, env *testEnv, o option, n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		var b strings.Builder
		for k := rng.Intn(6); k >= 0; k-- {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		v := b.String()
		switch o.kind {
		case pathKind:
			v = env.root + "/dirs/r/" + v
		case hostPort:
			if rng.Intn(2) == 0 {
				v = "127.0.0.1:9000" + v
			}
		case hostList:
			if rng.Intn(2) == 0 {
				v = "127.0.0.1" + o.sep + v
			}
		}
		out = append(out, v)
	}
	return out
}
