package project

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nix-docker/nix-docker/schema"
)

// addLocals evaluates a file's locals blocks into sc, each after the
// local values it reads, whatever their order in the file. A local that
// reads one that failed is skipped without a second message.
func (l *loader) addLocals(sc *scope, locals []*schema.Local) {
	sc.locals = map[string]cty.Value{}
	declared := map[string]bool{}
	for _, lc := range locals {
		declared[lc.Name] = true
	}
	done, failed := map[string]bool{}, map[string]bool{}
	pending := locals
	for len(pending) > 0 {
		var later []*schema.Local
		for _, lc := range pending {
			deps := localsRead(lc.Expr)
			wait, broken := false, false
			for _, d := range deps {
				wait = wait || (declared[d] && !done[d])
				broken = broken || failed[d]
			}
			if wait {
				later = append(later, lc)
				continue
			}
			done[lc.Name] = true
			if broken {
				failed[lc.Name] = true
				continue
			}
			if v, ok := l.eval(sc, lc.Expr); ok {
				sc.locals[lc.Name] = v
			} else {
				failed[lc.Name] = true
			}
		}
		if len(later) == len(pending) {
			var names []string
			for _, lc := range later {
				names = append(names, "local."+lc.Name)
			}
			for _, lc := range later {
				l.errorf(lc.NameRange, "Local values in a cycle", "The local values %s read each other in a cycle, so none of them has a value. Break the cycle.", strings.Join(names, ", "))
			}
			return
		}
		pending = later
	}
}

// localsRead lists the local values an expression reads.
func localsRead(expr hcl.Expression) []string {
	var out []string
	for _, tr := range expr.Variables() {
		if tr.RootName() != "local" || len(tr) < 2 {
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok {
			out = append(out, a.Name)
		}
	}
	return out
}
