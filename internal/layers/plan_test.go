package layers

import (
	"crypto/sha256"
	"fmt"
	"math/rand"
	"reflect"
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

// names shortens a plan to names for readable failures.
func names(plan [][]string) [][]string {
	out := make([][]string, len(plan))
	for i, l := range plan {
		for _, p := range l {
			out[i] = append(out[i], nameOf(p))
		}
	}
	return out
}

// closureOf builds a closure from "name: ref ref" lines.
func closureOf(lines ...string) ([]StorePath, map[string]string) {
	byName := map[string]string{}
	var out []StorePath
	for _, l := range lines {
		name, _, _ := strings.Cut(l, ":")
		byName[strings.TrimSpace(name)] = sp(strings.TrimSpace(name), 0)
	}
	for _, l := range lines {
		name, refs, _ := strings.Cut(l, ":")
		s := StorePath{Path: byName[strings.TrimSpace(name)], NarSize: 1}
		for _, r := range strings.Fields(refs) {
			s.References = append(s.References, byName[r])
		}
		s.References = append(s.References, s.Path) // Nix lists self-references
		out = append(out, s)
	}
	return out, byName
}

func TestPlan(t *testing.T) {
	webapp := []string{
		"glibc-2.36:",
		"zlib-1.2.13: glibc-2.36",
		"openssl-3.0: glibc-2.36",
		"redis-7.0.15: glibc-2.36 openssl-3.0",
		"apache-httpd-2.4: glibc-2.36 openssl-3.0 zlib-1.2.13",
		"nodejs-18: glibc-2.36 openssl-3.0 zlib-1.2.13",
		"app: nodejs-18",
		"www:",
		"system: redis-7.0.15 apache-httpd-2.4 app www",
	}
	cases := []struct {
		name  string
		lines []string
		top   []string
		max   int
		want  [][]string
	}{
		{
			name:  "one layer per path, shared ones first, roots on top",
			lines: webapp, top: []string{"system", "app"}, max: 100,
			want: [][]string{
				{"glibc-2.36"}, {"openssl-3.0"}, {"zlib-1.2.13"}, {"nodejs-18"},
				{"www"}, {"redis-7.0.15"}, {"apache-httpd-2.4"},
				{"app"}, {"system"},
			},
		},
		{
			name:  "over the limit: shared classes merge, the least shared split by name hash",
			lines: webapp, top: []string{"system", "app"}, max: 6,
			want: [][]string{
				{"glibc-2.36", "openssl-3.0", "zlib-1.2.13"}, {"nodejs-18"},
				{"redis-7.0.15", "www"}, {"apache-httpd-2.4"},
				{"app"}, {"system"},
			},
		},
		{
			name:  "one layer",
			lines: webapp, top: []string{"system"}, max: 1,
			want: [][]string{{"glibc-2.36", "openssl-3.0", "zlib-1.2.13", "www", "redis-7.0.15", "apache-httpd-2.4", "nodejs-18", "app", "system"}},
		},
		{
			name:  "two layers: the roots alone on top",
			lines: webapp, top: []string{"system"}, max: 2,
			want: [][]string{{"glibc-2.36", "openssl-3.0", "zlib-1.2.13", "www", "redis-7.0.15", "apache-httpd-2.4", "nodejs-18", "app"}, {"system"}},
		},
		{
			name:  "no top given",
			lines: []string{"a:", "b: a", "c: b"}, max: 10,
			want: [][]string{{"a"}, {"b"}, {"c"}},
		},
		{
			name:  "top not in the closure is ignored",
			lines: []string{"a:", "b: a"}, top: []string{"x"}, max: 10,
			want: [][]string{{"a"}, {"b"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			closure, byName := closureOf(c.lines...)
			var top []string
			for _, n := range c.top {
				if p, ok := byName[n]; ok {
					top = append(top, p)
				} else {
					top = append(top, sp(n, 99))
				}
			}
			got := names(Plan(closure, top, c.max))
			// Within a layer paths are sorted by store path (hash), so
			// compare layers as sets.
			for _, l := range append(got, c.want...) {
				sort.Strings(l)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Plan(max %d) =\n  %v\nwant\n  %v", c.max, got, c.want)
			}
		})
	}
	if got := Plan(nil, nil, 10); got != nil {
		t.Errorf("Plan(nil) = %v, want nil", got)
	}
}

// synthetic makes a closure of n paths shaped like real ones: a few
// libraries everything loads, libraries loaded by some, programs, the app
// and the system path on top.
func synthetic(seed int64, n int) (closure []StorePath, app, system string) {
	r := rand.New(rand.NewSource(seed))
	paths := make([]string, n)
	for i := range paths {
		paths[i] = sp(fmt.Sprintf("pkg%03d-1.0", i), 0)
	}
	app, system = sp("app", 0), sp("system", 0)
	for i := range paths {
		refs := map[string]bool{paths[i]: true}
		if i > 0 && r.Float64() < 0.9 {
			refs[paths[0]] = true
		}
		for k := r.Intn(5); k > 0 && i > 1; k-- {
			u := r.Float64()
			refs[paths[int(float64(i)*u*u)]] = true
		}
		closure = append(closure, StorePath{Path: paths[i], NarSize: int64(1000 + r.Intn(100000)), References: keys(refs)})
	}
	appRefs := map[string]bool{app: true}
	sysRefs := map[string]bool{system: true, app: true}
	for k := 0; k < 6; k++ {
		appRefs[paths[r.Intn(n)]] = true
		sysRefs[paths[n/2+r.Intn(n-n/2)]] = true
	}
	closure = append(closure,
		StorePath{Path: app, NarSize: 5000, References: keys(appRefs)},
		StorePath{Path: system, NarSize: 2000, References: keys(sysRefs)})
	return closure, app, system
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
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

func checkPlan(t *testing.T, plan [][]string, closure []StorePath, top []string, max int) {
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
	if len(closure) <= max && len(plan) != len(closure) {
		t.Fatalf("Plan: %d layers for %d paths under the limit %d, want one per path", len(plan), len(closure), max)
	}
	for i, p := range top {
		layer := plan[len(plan)-len(top)+i]
		if !(len(layer) == 1 && layer[0] == p) {
			t.Fatalf("Plan: top path %s not alone in layer %d from the top: %v", nameOf(p), len(top)-i, names(plan[len(plan)-len(top):]))
		}
	}
}

// TestPlanStability is the layering property: on synthetic closures of 20
// to 500 paths, Plan is deterministic, keeps its bounds, and a change to
// one path leaves every layer below the first one holding an affected path
// (the path or something depending on it) exactly as it was, so an engine
// reuses them all; adding a path keeps every layer below where it lands.
func TestPlanStability(t *testing.T) {
	for _, n := range []int{20, 60, 99, 150, 500} {
		for _, max := range []int{100, 30} {
			for seed := int64(1); seed <= 5; seed++ {
				closure, app, system := synthetic(seed, n)
				top := []string{app, system}
				plan := Plan(closure, top, max)
				checkPlan(t, plan, closure, top, max)

				shuffled := append([]StorePath(nil), closure...)
				rand.New(rand.NewSource(seed)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				if again := Plan(shuffled, []string{system, app}, max); !reflect.DeepEqual(again, plan) {
					t.Fatalf("n=%d max=%d seed=%d: Plan depends on input order", n, max, seed)
				}

				// Change one path.
				victim := closure[rand.New(rand.NewSource(seed)).Intn(n)].Path
				changed, rename := rehash(closure, victim, 1)
				newTop := []string{rename(app), rename(system)}
				newPlan := Plan(changed, newTop, max)
				checkPlan(t, newPlan, changed, newTop, max)
				first := len(plan)
				names := map[string]bool{}
				for _, s := range changed {
					names[s.Path] = true
				}
				for i, l := range plan {
					if !names[l[0]] || func() bool {
						for _, p := range l {
							if !names[p] {
								return true
							}
						}
						return false
					}() {
						first = i
						break
					}
				}
				if kept := prefix(plan, newPlan); kept < first {
					t.Errorf("n=%d max=%d seed=%d: changing %s kept %d bottom layers, want the %d below its first affected layer",
						n, max, seed, nameOf(victim), kept, first)
				}

				// Add a path the app uses.
				added := sp("new-dep-1.0", 0)
				grown := append(append([]StorePath(nil), closure...), StorePath{Path: added, NarSize: 1, References: []string{added, closure[0].Path}})
				for i := range grown {
					if grown[i].Path == app {
						grown[i].References = append(append([]string(nil), grown[i].References...), added)
					}
				}
				grown, rename = rehash(grown, app, 2)
				grownTop := []string{rename(app), rename(system)}
				grownPlan := Plan(grown, grownTop, max)
				checkPlan(t, grownPlan, grown, grownTop, max)
				at := 0
				for i, l := range grownPlan {
					for _, p := range l {
						if p == added {
							at = i
						}
					}
				}
				// Over the limit the class the new path joins may take
				// in one more path from above, so count from its class's
				// first layer.
				g := newGraph(grown)
				for i, l := range grownPlan[:at] {
					if g.class(g.index[l[0]]) == g.class(g.index[added]) {
						at = i
						break
					}
				}
				// When the budget runs short, a class may be spread over
				// fewer chunks (a power of two): from then on, layers of
				// that class and above are new.
				oldK, newK := splitOf(closure, top, max), splitOf(grown, grownTop, max)
				for i, l := range grownPlan[:at] {
					c := g.class(g.index[l[0]])
					if oldK[c] != newK[c] {
						at = i
						break
					}
				}
				if kept := prefix(plan, grownPlan); kept < at {
					t.Errorf("n=%d max=%d seed=%d: adding a path at layer %d kept %d bottom layers", n, max, seed, at, kept)
				}
			}
		}
	}
}

// splitOf is how Plan spreads each class (by class number) of a closure
// over layers: individual or a number of chunks.
func splitOf(closure []StorePath, top []string, max int) map[int]int {
	g := newGraph(closure)
	isTop := map[string]bool{}
	for _, p := range top {
		isTop[p] = true
	}
	var rest []int
	for i, p := range g.paths {
		if !isTop[p] {
			rest = append(rest, i)
		}
	}
	g.sort(rest)
	classes := g.classes(rest)
	out := map[int]int{}
	for i, k := range split(classes, max-len(top)) {
		out[g.class(classes[i][0])] = k
	}
	return out
}

// TestPlanSmallOnTop: among the paths only the system needs, the large
// interpreter sits below the small source and config, so changing the
// source resends neither the interpreter nor its libraries.
func TestPlanSmallOnTop(t *testing.T) {
	libc, node, src, conf, system := sp("glibc-2.36", 0), sp("nodejs-20", 0), sp("app", 0), sp("app.conf", 0), sp("nix-docker-system", 0)
	closure := []StorePath{
		{Path: libc, NarSize: 5 << 20},
		{Path: node, NarSize: 100 << 20, References: []string{libc}},
		{Path: src, NarSize: 2 << 10},
		{Path: conf, NarSize: 300},
		{Path: system, NarSize: 3 << 10, References: []string{node, src, conf}},
	}
	got := Plan(closure, []string{system}, 100)
	want := [][]string{{libc}, {node}, {src}, {conf}, {system}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Plan =\n  %v\nwant\n  %v", got, want)
	}
}
