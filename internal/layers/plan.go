package layers

import (
	"hash/fnv"
	"path"
	"sort"
	"strings"
)

// StorePath is one path of a closure, as `nix path-info --json -r` reports
// it.
type StorePath struct {
	Path       string
	NarSize    int64
	References []string
	// FromApp marks a path built from the app's own files, such as the
	// node_modules built from its package-lock.json: it changes with them,
	// more often than the programs the app runs.
	FromApp bool
}

// The cost model's constants (docs/images.md, "Cost model"; measured by
// bench/costmodel.sh on Docker 20.10 with overlay2). A Docker engine pays
// far more per layer than per byte.
const (
	// DefaultMax is the default ceiling on an image's layers: past it the
	// per-layer cost of a cold load outweighs what finer layers save on a
	// rebuild.
	DefaultMax = 16
	// LargePath is the size from which a store path gets a layer of its
	// own when the budget allows: resending it with its neighbours costs
	// more than the engine's price of one more layer.
	LargePath = 16 << 20
	// AppPathMax is the largest store path that joins the app's layer:
	// a path only the app's paths use (its sources, its config files) and
	// no larger than this is resent with every change to the app.
	AppPathMax = 256 << 10
)

// Plan groups a closure into at most max layers, bottom first, each a
// sorted list of store paths. top names the roots (the system path).
//
// The layers, bottom to top:
//
//   - Shared: the paths two or more packages use (glibc, openssl, zlib):
//     the large ones (LargePath or more) in a layer each, the rest in one
//     layer above them.
//   - Packages: a package is a path the app uses directly (Node.js, Redis,
//     httpd, the init) with the paths only it uses (its exclusive
//     dependencies): they change together, so they share a layer, but a
//     large path among them gets its own layer (libraries below the
//     programs that load them). Packages go largest first, so that a new
//     package lands above the large ones and resends only smaller ones.
//   - Packages built from the app's own files (FromApp, such as the
//     node_modules of its lockfile) go above the other packages, right
//     under the app's layer: a new dependency resends that package and
//     the app's layer only.
//   - The app: the top paths and every path of at most AppPathMax that
//     only app paths use and that uses only app paths or packages the top
//     paths use directly (the app's sources, its generated config files):
//     one layer, always the topmost, so a change confined to them resends
//     that layer only.
//
// A path's place depends on the paths that use it and on its own size,
// never on its hash, so a rebuild that changes only the app's paths keeps
// every other layer as it was. When the packages outnumber the layers
// left, they are dealt into a power of two of layers by a hash of their
// names (in bucket order); large paths get their own layers only while the
// budget lasts, the largest first. Plan is deterministic: the input order
// does not matter.
func Plan(closure []StorePath, top []string, max int) [][]string {
	if len(closure) == 0 {
		return nil
	}
	if max < 1 {
		max = 1
	}
	g := newGraph(closure)
	app := g.appSet(top)
	var appPaths, rest []int
	for i := range g.paths {
		if app[i] {
			appPaths = append(appPaths, i)
		} else {
			rest = append(rest, i)
		}
	}
	if max == 1 || len(rest) == 0 {
		return [][]string{g.names(append(rest, appPaths...))}
	}
	budget := max
	if len(appPaths) > 0 {
		budget--
	}
	var out [][]string
	for _, l := range g.lower(app, budget) {
		out = append(out, g.names(l))
	}
	if len(appPaths) > 0 {
		out = append(out, g.names(appPaths))
	}
	return out
}

// unit is a package: an entry path and the paths only it uses.
type unit struct {
	entry int
	paths []int
	bytes int64
}

// lower plans the paths outside the app set into at most budget layers.
func (g *graph) lower(app []bool, budget int) [][]int {
	shared, units := g.units(app)
	if budget == 1 {
		all := shared
		for _, u := range units {
			all = append(all, u.paths...)
		}
		return [][]int{all}
	}
	groups := [][]int{}
	if len(shared) > 0 {
		groups = append(groups, shared)
	}
	room := budget - len(groups)
	if len(units) <= room {
		for _, u := range units {
			groups = append(groups, u.paths)
		}
	} else {
		k := 1
		for k*2 <= room {
			k *= 2
		}
		buckets := make([][]int, k)
		for _, u := range units {
			h := fnv.New32a()
			h.Write([]byte(g.name[u.entry]))
			b := h.Sum32() % uint32(k)
			buckets[b] = append(buckets[b], u.paths...)
		}
		for _, b := range buckets {
			if len(b) > 0 {
				groups = append(groups, b)
			}
		}
	}
	return g.splitLarge(groups, budget-len(groups))
}

// splitLarge gives the largest paths of LargePath or more a layer each,
// at most spare of them, below the rest of their group (in the order of
// their own closures' sizes: libraries below programs).
func (g *graph) splitLarge(groups [][]int, spare int) [][]int {
	var large []int
	for _, grp := range groups {
		for _, p := range grp {
			if g.size[p] >= LargePath && len(grp) > 1 {
				large = append(large, p)
			}
		}
	}
	sort.Slice(large, func(a, b int) bool { return g.less(large[a], large[b], bySize) })
	if spare < 0 {
		spare = 0
	}
	if len(large) > spare {
		large = large[:spare]
	}
	alone := map[int]bool{}
	for _, p := range large {
		alone[p] = true
	}
	var out [][]int
	for _, grp := range groups {
		var own, rest []int
		for _, p := range grp {
			if alone[p] {
				own = append(own, p)
			} else {
				rest = append(rest, p)
			}
		}
		sort.Slice(own, func(a, b int) bool { return g.less(own[a], own[b], byClosure) })
		for _, p := range own {
			out = append(out, []int{p})
		}
		if len(rest) > 0 {
			out = append(out, rest)
		}
	}
	return out
}

// units splits the paths outside the app set into the shared ones (two
// or more entries use them) and one unit per entry, largest first.
func (g *graph) units(app []bool) (shared []int, units []unit) {
	// Entries: non-app paths an app path uses, or that nothing uses.
	var entries []int
	for i := range g.paths {
		if app[i] {
			continue
		}
		entry := len(g.users[i]) == 0
		for _, u := range g.users[i] {
			entry = entry || app[u]
		}
		if entry {
			entries = append(entries, i)
		}
	}
	owner := make([]int, len(g.paths)) // entry index + 1; -1 shared; 0 none yet
	seen := make([]int, len(g.paths))
	var stack []int
	for k, e := range entries {
		stack = append(stack[:0], e)
		seen[e] = k + 1
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch owner[p] {
			case 0:
				owner[p] = k + 1
			case k + 1, -1:
			default:
				owner[p] = -1
			}
			for _, r := range g.refs[p] {
				if seen[r] != k+1 && !app[r] {
					seen[r] = k + 1
					stack = append(stack, r)
				}
			}
		}
	}
	units = make([]unit, len(entries))
	for k, e := range entries {
		units[k].entry = e
	}
	for i := range g.paths {
		switch {
		case app[i]:
		case owner[i] == -1:
			shared = append(shared, i)
		case owner[i] > 0:
			u := &units[owner[i]-1]
			u.paths = append(u.paths, i)
			u.bytes += g.size[i]
		}
	}
	sort.Slice(units, func(a, b int) bool {
		ua, ub := units[a], units[b]
		if g.fromApp[ua.entry] != g.fromApp[ub.entry] {
			return g.fromApp[ub.entry]
		}
		if ua.bytes != ub.bytes {
			return ua.bytes > ub.bytes
		}
		return g.less(ua.entry, ub.entry, byName)
	})
	return shared, units
}

// appSet marks the app's own paths: the top paths and, from the top
// down, every path of at most AppPathMax that only marked paths use and
// that uses nothing but marked paths and paths a top path uses directly
// (a config file may name a package the app runs; a small package with
// libraries of its own stays a package).
func (g *graph) appSet(top []string) []bool {
	isTop := make([]bool, len(g.paths))
	direct := make([]bool, len(g.paths))
	for _, p := range top {
		if i, ok := g.index[p]; ok {
			isTop[i] = true
			for _, r := range g.refs[i] {
				direct[r] = true
			}
		}
	}
	excluded := make([]bool, len(g.paths))
	order := g.topDown()
	for {
		app := append([]bool(nil), isTop...)
		for _, i := range order {
			if app[i] || excluded[i] || g.size[i] > AppPathMax || len(g.users[i]) == 0 {
				continue
			}
			all := true
			for _, u := range g.users[i] {
				all = all && app[u]
			}
			app[i] = all
		}
		again := false
		for i := range g.paths {
			if !app[i] || isTop[i] {
				continue
			}
			for _, r := range g.refs[i] {
				if !app[r] && !direct[r] {
					excluded[i], again = true, true
					break
				}
			}
		}
		if !again {
			return app
		}
	}
}

// graph is a closure with the relations Plan needs.
type graph struct {
	paths   []string
	index   map[string]int
	refs    [][]int // the other closure paths each path references
	users   [][]int // the closure paths that reference each path
	closure []int   // size (in paths) of each path's own closure
	size    []int64
	name    []string
	fromApp []bool
}

func newGraph(closure []StorePath) *graph {
	g := &graph{index: map[string]int{}}
	for _, sp := range closure {
		if _, dup := g.index[sp.Path]; dup {
			continue
		}
		g.index[sp.Path] = len(g.paths)
		g.paths = append(g.paths, sp.Path)
	}
	n := len(g.paths)
	g.refs = make([][]int, n)
	g.users = make([][]int, n)
	g.size = make([]int64, n)
	g.name = make([]string, n)
	g.fromApp = make([]bool, n)
	done := make([]bool, n)
	for _, sp := range closure {
		i := g.index[sp.Path]
		if done[i] {
			continue
		}
		done[i] = true
		g.size[i] = sp.NarSize
		g.fromApp[i] = sp.FromApp
		seen := map[int]bool{}
		for _, r := range sp.References {
			if j, ok := g.index[r]; ok && j != i && !seen[j] {
				seen[j] = true
				g.refs[i] = append(g.refs[i], j)
				g.users[j] = append(g.users[j], i)
			}
		}
	}
	g.closure = make([]int, n)
	mark := make([]int, n)
	var stack []int
	for i := 0; i < n; i++ {
		g.name[i] = nameOf(g.paths[i])
		stack = append(stack[:0], i)
		mark[i] = i + 1
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			g.closure[i]++
			for _, k := range g.refs[j] {
				if mark[k] != i+1 {
					mark[k] = i + 1
					stack = append(stack, k)
				}
			}
		}
	}
	return g
}

// topDown lists the paths so that every path comes after the paths that
// use it (store paths reference each other without cycles).
func (g *graph) topDown() []int {
	pending := make([]int, len(g.paths))
	var ready []int
	for i := range g.paths {
		pending[i] = len(g.users[i])
		if pending[i] == 0 {
			ready = append(ready, i)
		}
	}
	var out []int
	for len(ready) > 0 {
		i := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		out = append(out, i)
		for _, r := range g.refs[i] {
			if pending[r]--; pending[r] == 0 {
				ready = append(ready, r)
			}
		}
	}
	return out
}

// nameOf is a store path's name without the hash: "redis-7.0.15".
func nameOf(p string) string {
	base := path.Base(p)
	if _, name, ok := strings.Cut(base, "-"); ok {
		return name
	}
	return base
}

type order int

const (
	byName    order = iota // name without the hash, then path
	bySize                 // largest first, then by name
	byClosure              // smallest own closure first, then largest, then by name
)

// less orders two paths; ties end on the name without the hash and then
// the path, so the order does not depend on the input's.
func (g *graph) less(i, j int, o order) bool {
	switch o {
	case bySize:
		if g.size[i] != g.size[j] {
			return g.size[i] > g.size[j]
		}
	case byClosure:
		if g.closure[i] != g.closure[j] {
			return g.closure[i] < g.closure[j]
		}
		if g.size[i] != g.size[j] {
			return g.size[i] > g.size[j]
		}
	}
	if g.name[i] != g.name[j] {
		return g.name[i] < g.name[j]
	}
	return g.paths[i] < g.paths[j]
}

func (g *graph) names(ix []int) []string {
	out := make([]string, len(ix))
	for k, i := range ix {
		out[k] = g.paths[i]
	}
	sort.Strings(out)
	return out
}
