package layers

import (
	"crypto/sha256"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// sp makes a store path with a fake hash derived from its name and salt.
func sp(name string, salt int) string {
	const alphabet = "0123456789abcdfghijklmnpqrsvwxyz" // Nix's base32
	sum := sha256.Sum256([]byte(fmt.Sprint(name, salt)))
	var b strings.Builder
	for i := 0; i < 32; i++ {
		b.WriteByte(alphabet[sum[i]%32])
	}
	return "/nix/store/" + b.String() + "-" + name
}

// names shortens a plan to names, each layer sorted, for readable
// failures and comparisons.
func names(plan [][]string) [][]string {
	out := make([][]string, len(plan))
	for i, l := range plan {
		for _, p := range l {
			out[i] = append(out[i], nameOf(p))
		}
		sort.Strings(out[i])
	}
	return out
}

const (
	kib = 1 << 10
	mib = 1 << 20
)

// closureOf builds a closure from "name size: ref ref" lines (size in
// bytes, with an optional K or M suffix).
func closureOf(t *testing.T, lines ...string) ([]StorePath, map[string]string) {
	t.Helper()
	byName := map[string]string{}
	for _, l := range lines {
		head, _, _ := strings.Cut(l, ":")
		byName[strings.Fields(head)[0]] = sp(strings.Fields(head)[0], 0)
	}
	var out []StorePath
	for _, l := range lines {
		head, refs, _ := strings.Cut(l, ":")
		f := strings.Fields(head)
		var size int64 = 1
		if len(f) > 1 {
			mult := int64(1)
			num := f[1]
			switch {
			case strings.HasSuffix(num, "K"):
				mult, num = kib, strings.TrimSuffix(num, "K")
			case strings.HasSuffix(num, "M"):
				mult, num = mib, strings.TrimSuffix(num, "M")
			}
			if _, err := fmt.Sscan(num, &size); err != nil {
				t.Fatalf("bad size in %q", l)
			}
			size *= mult
		}
		s := StorePath{Path: byName[f[0]], NarSize: size}
		for _, r := range strings.Fields(refs) {
			if byName[r] == "" {
				t.Fatalf("unknown reference %s in %q", r, l)
			}
			s.References = append(s.References, byName[r])
		}
		s.References = append(s.References, s.Path) // Nix lists self-references
		out = append(out, s)
	}
	return out, byName
}

// webapp is the webapp example's closure, in short: three packages on
// glibc and openssl, a static init, the app's source and config files.
var webapp = []string{
	"glibc 4500K:",
	"gcc-lib 2M: glibc",
	"zlib 100K: glibc",
	"openssl 5500K: glibc",
	"icu 36M: glibc gcc-lib",
	"libuv 200K: glibc",
	"nodejs 100M: glibc gcc-lib openssl zlib icu libuv",
	"apr 300K: glibc",
	"apache-httpd 8M: glibc openssl zlib apr",
	"redis 4M: glibc openssl gcc-lib",
	"init 3M:",
	"app 3K:",
	"www 1K:",
	"redis.conf 1K:",
	"httpd.conf 1K: apache-httpd www",
	"system 4K: nodejs apache-httpd redis init app www redis.conf httpd.conf",
}

func TestPlan(t *testing.T) {
	cases := []struct {
		name    string
		lines   []string
		top     []string
		fromApp []string
		max     int
		want    [][]string
	}{
		{
			name:  "shared paths in one layer, large paths alone, packages largest first, the app on top",
			lines: webapp, top: []string{"system"}, max: 16,
			want: [][]string{
				{"gcc-lib", "glibc", "openssl", "zlib"},
				{"icu"}, {"nodejs"}, {"libuv"},
				{"apache-httpd", "apr"},
				{"redis"}, {"init"},
				{"app", "httpd.conf", "redis.conf", "system", "www"},
			},
		},
		{
			name:  "a short budget: large paths alone while it lasts, largest first",
			lines: webapp, top: []string{"system"}, max: 7,
			want: [][]string{
				{"gcc-lib", "glibc", "openssl", "zlib"},
				{"nodejs"}, {"icu", "libuv"},
				{"apache-httpd", "apr"},
				{"redis"}, {"init"},
				{"app", "httpd.conf", "redis.conf", "system", "www"},
			},
		},
		{
			name:  "more packages than layers: hashed into a power of two of layers",
			lines: webapp, top: []string{"system"}, max: 4,
			want: [][]string{
				// FNV-1a of the names, mod 2: nodejs, apache-httpd and
				// redis 0, init 1.
				{"gcc-lib", "glibc", "openssl", "zlib"},
				{"apache-httpd", "apr", "icu", "libuv", "nodejs", "redis"},
				{"init"},
				{"app", "httpd.conf", "redis.conf", "system", "www"},
			},
		},
		{
			name:  "two layers: everything under the app",
			lines: webapp, top: []string{"system"}, max: 2,
			want: [][]string{
				{"apache-httpd", "apr", "gcc-lib", "glibc", "icu", "init", "libuv", "nodejs", "openssl", "redis", "zlib"},
				{"app", "httpd.conf", "redis.conf", "system", "www"},
			},
		},
		{
			name:  "one layer",
			lines: webapp, top: []string{"system"}, max: 1,
			want: [][]string{{"apache-httpd", "app", "apr", "gcc-lib", "glibc", "httpd.conf", "icu", "init", "libuv", "nodejs", "openssl", "redis", "redis.conf", "system", "www", "zlib"}},
		},
		{
			name: "an app path over AppPathMax is a package of its own (named exception)",
			lines: []string{
				"glibc 4500K:", "nodejs 100M: glibc", "bundle 2M:", "app 3K:",
				"system 4K: nodejs bundle app",
			},
			top: []string{"system"}, max: 16,
			want: [][]string{{"nodejs"}, {"glibc"}, {"bundle"}, {"app", "system"}},
		},
		{
			name: "a small static package only the app uses rides in the app's layer (named exception)",
			lines: []string{
				"glibc 4M:", "nodejs 100M: glibc", "tini 200K:", "app 3K:",
				"system 4K: nodejs tini app",
			},
			top: []string{"system"}, max: 16,
			want: [][]string{{"nodejs"}, {"glibc"}, {"app", "system", "tini"}},
		},
		{
			name: "a package built from the app's own files goes right under the app's layer",
			lines: []string{
				"glibc 4500K:", "nodejs 100M: glibc", "redis 4M: glibc", "init 3M:",
				"node-modules 7M: nodejs", "app 3K: node-modules", "apache 20M: glibc", "httpd.conf 1K: apache",
				"system 4K: nodejs redis init app node-modules apache httpd.conf",
			},
			top: []string{"system"}, fromApp: []string{"node-modules"}, max: 16,
			want: [][]string{{"nodejs"}, {"glibc"}, {"apache"}, {"redis"}, {"init"}, {"node-modules"}, {"app", "httpd.conf", "system"}},
		},
		{
			name:  "no top given: the closure's roots are the packages",
			lines: []string{"a:", "b: a", "c: b", "d: a"}, max: 10,
			want: [][]string{{"a"}, {"b", "c"}, {"d"}},
		},
		{
			name:  "top not in the closure is ignored",
			lines: []string{"a:", "b: a"}, top: []string{"x"}, max: 10,
			want: [][]string{{"a", "b"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			closure, byName := closureOf(t, c.lines...)
			for i := range closure {
				closure[i].FromApp = slices.Contains(c.fromApp, nameOf(closure[i].Path))
			}
			var top []string
			for _, n := range c.top {
				if p, ok := byName[n]; ok {
					top = append(top, p)
				} else {
					top = append(top, sp(n, 99))
				}
			}
			got := names(Plan(closure, top, c.max))
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Plan(max %d) =\n  %v\nwant\n  %v", c.max, got, c.want)
			}
		})
	}
	if got := Plan(nil, nil, 10); got != nil {
		t.Errorf("Plan(nil) = %v, want nil", got)
	}
}

// TestPlanSharedForTheFirstTime is the named exception to the stability
// of adding a package: a path only one package used becomes shared, so it
// moves from that package's layer to the shared layer at the bottom, and
// the layers above the large shared ones (none here) are new.
func TestPlanSharedForTheFirstTime(t *testing.T) {
	before, byName := closureOf(t, webapp...)
	plan := Plan(before, []string{byName["system"]}, 16)
	grown, byName2 := closureOf(t, append(webapp[:len(webapp)-1:len(webapp)-1],
		"curl 1M: glibc openssl libuv",
		"system 4K: nodejs apache-httpd redis init app www redis.conf httpd.conf curl")...)
	after := Plan(grown, []string{byName2["system"]}, 16)
	if kept := prefix(plan, after); kept != 0 {
		t.Errorf("adding curl, which shares Node.js' libuv: kept %d bottom layers, want 0\nbefore %v\nafter  %v", kept, names(plan), names(after))
	}
	if got := names(after)[0]; !reflect.DeepEqual(got, []string{"gcc-lib", "glibc", "libuv", "openssl", "zlib"}) {
		t.Errorf("shared layer after adding curl = %v, want libuv in it", got)
	}
}

// pkg is a package of a synthetic closure: its entry path and the paths
// only it uses.
type pkg struct {
	entry string
	paths []string // entry included
	bytes int64
}

// world is a synthetic closure with what the test knows about it: which
// paths are the app's, which are shared, and the packages.
type world struct {
	closure []StorePath
	system  string
	app     []string // the app's own paths, system included
	shared  []string // paths two or more packages use
	pkgs    []pkg
}

// synthetic makes a closure of about n paths shaped like real ones: a few
// core libraries every package loads (glibc), libraries two or more
// packages share, packages with exclusive dependencies (some of them
// large), and the app: its sources and config files (small, one of them
// referring to a package) and the system path.
func synthetic(seed int64, n int) world {
	r := rand.New(rand.NewSource(seed))
	var w world
	add := func(name string, size int64, refs ...string) string {
		p := sp(name, 0)
		w.closure = append(w.closure, StorePath{Path: p, NarSize: size, References: append(refs, p)})
		return p
	}
	size := func() int64 {
		if r.Intn(8) == 0 {
			return LargePath + int64(r.Intn(100*mib)) // a large path
		}
		return 1 + int64(r.Intn(2*mib))
	}
	glibc := add("glibc-2.36", 4*mib)
	core := []string{glibc}
	for i := 0; i < 1+n/40; i++ {
		core = append(core, add(fmt.Sprintf("core%02d-1.0", i), size(), glibc))
	}
	w.shared = append(w.shared, core...)
	nPkgs := 2 + n/12
	var shared []string
	for i := 0; i < n/10; i++ {
		shared = append(shared, add(fmt.Sprintf("shared%03d-1.0", i), size(), glibc))
	}
	w.shared = append(w.shared, shared...)
	users := make([][]string, nPkgs) // shared libraries per package
	for _, s := range shared {
		// Each shared library is used by two or more packages.
		a := r.Intn(nPkgs)
		b := (a + 1 + r.Intn(nPkgs-1)) % nPkgs
		users[a] = append(users[a], s)
		users[b] = append(users[b], s)
		if r.Intn(3) == 0 {
			c := r.Intn(nPkgs)
			users[c] = append(users[c], s)
		}
	}
	per := (n - len(w.closure)) / nPkgs
	if per < 1 {
		per = 1
	}
	for k := 0; k < nPkgs; k++ {
		var own []string
		var bytes int64
		for j := 0; j < r.Intn(per)+1; j++ {
			s := size()
			refs := append([]string{glibc}, core[r.Intn(len(core))])
			if len(own) > 0 && r.Intn(2) == 0 {
				refs = append(refs, own[r.Intn(len(own))])
			}
			own = append(own, add(fmt.Sprintf("pkg%03d-dep%02d-1.0", k, j), s, refs...))
			bytes += s
		}
		s := size()
		entry := add(fmt.Sprintf("pkg%03d-1.0", k), s, append(append(append([]string{}, own...), core...), users[k]...)...)
		w.pkgs = append(w.pkgs, pkg{entry: entry, paths: append(own, entry), bytes: bytes + s})
	}
	var entries []string
	for _, p := range w.pkgs {
		entries = append(entries, p.entry)
	}
	src := add("app-src", 1+int64(r.Intn(AppPathMax)))
	www := add("app-www", 1+int64(r.Intn(AppPathMax)))
	conf := add("app.conf", 1+int64(r.Intn(8*kib)), www, entries[0])
	w.system = add("nix-docker-system", 4*kib, append([]string{src, www, conf}, entries...)...)
	w.app = []string{src, www, conf, w.system}
	return w
}

// rehash gives path and everything that depends on it a new hash, as a
// change to path's source does in Nix.
func rehash(closure []StorePath, path string, salt int) ([]StorePath, func(string) string) {
	affected := map[string]bool{path: true}
	for changed := true; changed; {
		changed = false
		for _, s := range closure {
			for _, r := range s.References {
				if affected[r] && !affected[s.Path] {
					affected[s.Path], changed = true, true
				}
			}
		}
	}
	rename := func(p string) string {
		if affected[p] {
			return sp(nameOf(p), salt)
		}
		return p
	}
	out := make([]StorePath, len(closure))
	for i, s := range closure {
		out[i] = StorePath{Path: rename(s.Path), NarSize: s.NarSize}
		for _, r := range s.References {
			out[i].References = append(out[i].References, rename(r))
		}
	}
	return out, rename
}

// prefix is the number of bottom layers two plans share.
func prefix(a, b [][]string) int {
	n := 0
	for n < len(a) && n < len(b) && reflect.DeepEqual(a[n], b[n]) {
		n++
	}
	return n
}

// checkPlan checks the bounds every plan keeps: at most max layers, every
// path in exactly one non-empty sorted layer, and the app's own paths
// (as the test made them) alone in the top layer.
func checkPlan(t *testing.T, plan [][]string, closure []StorePath, app []string, max int) {
	t.Helper()
	if len(plan) > max {
		t.Fatalf("Plan: %d layers, want at most %d", len(plan), max)
	}
	seen := map[string]bool{}
	for _, l := range plan {
		if len(l) == 0 {
			t.Fatalf("Plan: an empty layer")
		}
		if !sort.StringsAreSorted(l) {
			t.Fatalf("Plan: layer %v not sorted", l)
		}
		for _, p := range l {
			if seen[p] {
				t.Fatalf("Plan: %s in two layers", p)
			}
			seen[p] = true
		}
	}
	if len(seen) != len(closure) {
		t.Fatalf("Plan: %d paths, want %d", len(seen), len(closure))
	}
	if max > 1 {
		want := append([]string(nil), app...)
		sort.Strings(want)
		if top := plan[len(plan)-1]; !reflect.DeepEqual(top, want) {
			t.Fatalf("Plan: top layer %v, want the app's paths %v", names([][]string{top}), names([][]string{want}))
		}
	}
}

// TestPlanStability is the layering property, on synthetic closures of
// 20 to 500 paths and layer limits from 3 to 100:
//
//   - Plan is deterministic and keeps its bounds, the app's own paths
//     alone on top.
//   - A change confined to the app's paths keeps every layer below the
//     app's: the engine is sent one layer (the root filesystem's entries
//     ride in it), whatever the closure and the limit.
//   - Adding a package that uses paths other packages already share plus
//     new ones of its own, while every package and every large path has a
//     layer of its own (the documented condition), keeps every layer
//     below the first one holding a package no larger than the new one.
func TestPlanStability(t *testing.T) {
	added := 0
	for _, n := range []int{20, 60, 99, 150, 500} {
		for _, max := range []int{3, 8, DefaultMax, 30, 100} {
			for seed := int64(1); seed <= 5; seed++ {
				w := synthetic(seed, n)
				what := fmt.Sprintf("n=%d max=%d seed=%d", n, max, seed)
				plan := Plan(w.closure, []string{w.system}, max)
				checkPlan(t, plan, w.closure, w.app, max)

				shuffled := append([]StorePath(nil), w.closure...)
				rand.New(rand.NewSource(seed)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				if again := Plan(shuffled, []string{w.system}, max); !reflect.DeepEqual(again, plan) {
					t.Fatalf("%s: Plan depends on input order", what)
				}

				// Change one of the app's paths (not the system path).
				victim := w.app[rand.New(rand.NewSource(seed)).Intn(len(w.app)-1)]
				changed, rename := rehash(w.closure, victim, 1)
				var newApp []string
				for _, p := range w.app {
					newApp = append(newApp, rename(p))
				}
				newPlan := Plan(changed, []string{rename(w.system)}, max)
				checkPlan(t, newPlan, changed, newApp, max)
				resent := len(newPlan) - prefix(plan, newPlan)
				if resent != 1 || len(newPlan) != len(plan) {
					t.Errorf("%s: changing %s resends %d layers, want 1\nbefore %v\nafter  %v", what, nameOf(victim), resent, names(plan), names(newPlan))
				}

				if checkAdd(t, what, w, plan, max) {
					added++
				}
			}
		}
	}
	// 125 cases; the add check needs a layer per package and large path,
	// which the smaller closures with the larger limits have.
	if added < 20 {
		t.Errorf("the add-a-package check ran in %d cases, want at least 20", added)
	}
	t.Logf("the add-a-package check ran in %d of 125 cases", added)
}

// checkAdd adds a package to w (new paths of its own, plus a core
// library and a shared one, which two packages use already) and checks
// what stays.
//
// It reports whether the condition held and the check ran.
func checkAdd(t *testing.T, what string, w world, plan [][]string, max int) bool {
	t.Helper()
	r := rand.New(rand.NewSource(int64(len(w.closure))))
	var size int64
	var added []StorePath
	var own []string
	for j := 0; j < 1+r.Intn(3); j++ {
		p := sp(fmt.Sprintf("newpkg-dep%d-1.0", j), 0)
		s := 1 + int64(r.Intn(3*mib))
		added = append(added, StorePath{Path: p, NarSize: s, References: []string{p, w.shared[0]}})
		own = append(own, p)
		size += s
	}
	entry := sp("newpkg-1.0", 0)
	refs := append([]string{entry, w.shared[0], w.shared[len(w.shared)-1]}, own...)
	added = append(added, StorePath{Path: entry, NarSize: 100 * kib, References: refs})
	size += 100 * kib
	grown := append(append([]StorePath(nil), w.closure...), added...)
	for i := range grown {
		if grown[i].Path == w.system {
			grown[i].References = append(append([]string(nil), grown[i].References...), entry)
		}
	}
	grown, rename := rehash(grown, w.system, 2)
	var app []string
	for _, p := range w.app {
		app = append(app, rename(p))
	}
	grownPlan := Plan(grown, []string{rename(w.system)}, max)
	checkPlan(t, grownPlan, grown, app, max)

	// The documented condition: a layer for the shared paths, one per
	// package, one per large path, and the app's.
	large := 0
	for _, s := range grown {
		if s.NarSize >= LargePath {
			large++
		}
	}
	if 1+len(w.pkgs)+1+large+1 > max {
		return false
	}
	// The layers that must stay: from the bottom, up to the first that
	// holds a path of a package no larger than the new one, or an app path.
	small := map[string]bool{}
	for _, p := range w.pkgs {
		if p.bytes <= size {
			for _, q := range p.paths {
				small[q] = true
			}
		}
	}
	for _, p := range w.app {
		small[p] = true
	}
	// The expectation is the test's own: the layers that hold only shared
	// paths and paths of larger packages, wherever Plan put them, must be
	// the bottom ones and stay.
	want := 0
	for _, l := range plan {
		big := true
		for _, p := range l {
			big = big && !small[p]
		}
		if big {
			want++
		}
	}
	if want == 0 {
		t.Fatalf("%s: no layer of shared paths or larger packages: the synthetic world has none", what)
	}
	if kept := prefix(plan, grownPlan); kept < want {
		t.Errorf("%s: adding a package of %d bytes kept %d bottom layers, want the %d holding only shared paths and larger packages\nbefore %v\nafter  %v", what, size, kept, want, names(plan), names(grownPlan))
	}
	return true
}
