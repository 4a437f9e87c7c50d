package layers

import (
	"hash/fnv"
	"math/bits"
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
}

// Plan groups a closure into at most max layers, bottom first, each a
// sorted list of store paths. top names the roots (the system path, the
// app): they go in the topmost layer(s), in their own layers when there is
// room.
//
// Paths are ordered by how widely they are shared: their class is the
// number of closure paths that depend on them, in powers of two (1, 2-3,
// 4-7, ...), so that one more dependant rarely moves a path. The most
// shared class sits at the bottom. Within a class, paths go by the size of
// their own closure (libraries below the programs that load them), then by
// name without the hash (so a new version of a path keeps its place), then
// by path. The least shared class (paths one other path needs: in
// practice the app's own ingredients, such as its interpreter, its source
// and its config files) goes by size instead, largest first, so that a
// change to a small source or config file resends small layers only, not
// the interpreter sitting above it.
//
// While the closure fits, every path gets its own layer. Beyond max, the
// least shared classes (the ones that change most often) keep one layer
// per path while the budget lasts; the next class is spread over a power
// of two of layers by a hash of each path's name, and more shared classes
// take one layer each (any budget left over is used the same way). A
// path's layer then depends on its class and name, not on its neighbours,
// so adding or changing one path leaves the other groups as they were.
// Plan is deterministic: the input order does not matter.
func Plan(closure []StorePath, top []string, max int) [][]string {
	if len(closure) == 0 {
		return nil
	}
	if max < 1 {
		max = 1
	}
	g := newGraph(closure)
	isTop := map[string]bool{}
	for _, p := range top {
		if _, ok := g.index[p]; ok {
			isTop[p] = true
		}
	}
	var rest, roots []int
	for i := range g.paths {
		if isTop[g.paths[i]] {
			roots = append(roots, i)
		} else {
			rest = append(rest, i)
		}
	}
	g.sort(rest)
	g.sort(roots)

	if max == 1 {
		return [][]string{g.names(append(rest, roots...))}
	}
	var topLayers [][]string
	switch {
	case len(roots) == 0:
	case len(roots) <= max/2 || (len(rest) == 0 && len(roots) <= max):
		for _, r := range roots {
			topLayers = append(topLayers, g.names([]int{r}))
		}
	default:
		topLayers = [][]string{g.names(roots)}
	}
	if len(rest) == 0 {
		return topLayers
	}
	var out [][]string
	for _, grp := range g.group(rest, max-len(topLayers)) {
		out = append(out, g.names(grp))
	}
	return append(out, topLayers...)
}

// individual marks a class whose paths each get a layer.
const individual = 0

// split decides, for each class of sorted paths (most shared first), how
// many layers it gets: individual (one per path) or k > 0 hashed chunks.
func split(classes [][]int, budget int) []int {
	k := make([]int, len(classes))
	for i := range k {
		k[i] = 1
	}
	spare := budget - len(classes)
	for i := len(classes) - 1; i >= 0 && spare > 0; i-- {
		n := len(classes[i])
		if n-1 <= spare {
			k[i] = individual
			spare -= n - 1
			continue
		}
		c := 1
		for c*2 <= 1+spare {
			c *= 2
		}
		k[i] = c
		spare -= c - 1
	}
	return k
}

// group turns sorted paths into at most budget groups, bottom first.
func (g *graph) group(rest []int, budget int) [][]int {
	classes := g.classes(rest)
	if len(classes) > budget {
		return squeeze(classes, budget)
	}
	var out [][]int
	for i, k := range split(classes, budget) {
		switch k {
		case individual:
			for _, p := range classes[i] {
				out = append(out, []int{p})
			}
		case 1:
			out = append(out, classes[i])
		default:
			chunks := make([][]int, k)
			for _, p := range classes[i] {
				h := fnv.New32a()
				h.Write([]byte(g.name[p]))
				c := h.Sum32() % uint32(k)
				chunks[c] = append(chunks[c], p)
			}
			for _, c := range chunks {
				if len(c) > 0 {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// graph is a closure with the ranks Plan orders by.
type graph struct {
	paths   []string
	index   map[string]int
	shared  []int // number of other closure paths whose closure holds this one
	closure []int // size of this path's own closure
	size    []int64
	name    []string
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
	refs := make([][]int, n)
	for _, sp := range closure {
		i := g.index[sp.Path]
		if refs[i] != nil {
			continue
		}
		refs[i] = []int{}
		for _, r := range sp.References {
			if j, ok := g.index[r]; ok && j != i {
				refs[i] = append(refs[i], j)
			}
		}
	}
	g.shared = make([]int, n)
	g.closure = make([]int, n)
	g.name = make([]string, n)
	g.size = make([]int64, n)
	for _, sp := range closure {
		g.size[g.index[sp.Path]] = sp.NarSize
	}
	seen := make([]int, n) // the walk (i+1) that last visited a path
	var stack []int
	for i := 0; i < n; i++ {
		g.name[i] = nameOf(g.paths[i])
		stack = append(stack[:0], i)
		seen[i] = i + 1
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			g.closure[i]++
			if j != i {
				g.shared[j]++
			}
			for _, k := range refs[j] {
				if seen[k] != i+1 {
					seen[k] = i + 1
					stack = append(stack, k)
				}
			}
		}
	}
	return g
}

// nameOf is a store path's name without the hash: "redis-7.0.15".
func nameOf(p string) string {
	base := path.Base(p)
	if _, name, ok := strings.Cut(base, "-"); ok {
		return name
	}
	return base
}

// class buckets how widely a path is shared: 0, 1, 2-3, 4-7, ...
func (g *graph) class(i int) int { return bits.Len(uint(g.shared[i])) }

// sort orders paths bottom to top.
func (g *graph) sort(ix []int) {
	sort.Slice(ix, func(a, b int) bool {
		i, j := ix[a], ix[b]
		ci, cj := g.class(i), g.class(j)
		if ci != cj {
			return ci > cj
		}
		if ci <= 1 && g.size[i] != g.size[j] {
			return g.size[i] > g.size[j]
		}
		if g.closure[i] != g.closure[j] {
			return g.closure[i] < g.closure[j]
		}
		if g.name[i] != g.name[j] {
			return g.name[i] < g.name[j]
		}
		return g.paths[i] < g.paths[j]
	})
}

// classes splits sorted paths into runs of the same class.
func (g *graph) classes(ix []int) [][]int {
	var out [][]int
	for k, i := range ix {
		if k == 0 || g.class(i) != g.class(ix[k-1]) {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], i)
	}
	return out
}

// squeeze merges neighbouring groups, from the top, until n remain.
func squeeze(groups [][]int, n int) [][]int {
	if n < 1 {
		n = 1
	}
	for len(groups) > n {
		last := len(groups) - 1
		groups[last-1] = append(groups[last-1], groups[last]...)
		groups = groups[:last]
	}
	return groups
}

func (g *graph) names(ix []int) []string {
	out := make([]string, len(ix))
	for k, i := range ix {
		out[k] = g.paths[i]
	}
	sort.Strings(out)
	return out
}
