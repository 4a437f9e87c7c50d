package project

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nix-docker/nix-docker/internal/contract"
	"github.com/nix-docker/nix-docker/internal/quote"
	"github.com/nix-docker/nix-docker/schema"
	"github.com/zclconf/go-cty/cty"
)

// Link is a symlink in the image's root file system.
type Link struct{ Path, Target string }

// EnvVar is one image environment variable; Value may hold placeholders.
type EnvVar struct{ Name, Value string }

// addImage adds an image block's settings.
func (l *loader) addImage(sc *scope, img *schema.Image) {
	if img.Ports != nil {
		l.addPorts(sc, img)
	}
	if img.Volumes != nil {
		l.addVolumes(sc, img)
	}
	if img.Links != nil {
		l.addLinks(sc, img)
	}
	if img.Env != nil {
		l.addEnv(sc, img)
	}
}

// addPorts adds the image ports; two module instances may not share one.
func (l *loader) addPorts(sc *scope, img *schema.Image) {
	if ports, ok := l.intListExpr(sc, img.Ports, "attribute \"ports\"", 1, 65535); ok {
		at := img.Ports.Range()
		if sc.instance != "" {
			at = sc.decl
		}
		for _, p := range ports {
			if prev, seen := l.ports.owner[p]; seen {
				// Two module instances on one port is a clash; the app
				// file may repeat a port a module already exposes.
				if prev.owner != sc.instance && prev.owner != "" && sc.instance != "" {
					l.ports.clash[p] = true
					l.errorf(at, "Port used twice", "Port %d is used by module %q (%s) and by module %q. Give one of them another port.", p, prev.owner, prev.at, sc.instance)
				}
				continue
			}
			l.ports.owner[p] = portDecl{owner: sc.instance, at: at}
			l.proj.Ports = append(l.proj.Ports, p)
		}
	}
}

// addVolumes adds the image volumes: absolute, clean paths.
func (l *loader) addVolumes(sc *scope, img *schema.Image) {
	if vols, ok := l.typed(sc, img.Volumes, cty.List(cty.String), "attribute \"volumes\""); ok {
		i := 0
		for it := vols.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			v := e.AsString()
			if quote.CheckPath(v) != nil {
				l.errorf(elementRange(img.Volumes, i), "Invalid volume", "A volume is an absolute, clean path inside the container, without control characters, such as \"/data\"; %q is not.", v)
				continue
			}
			if !slices.Contains(l.proj.Volumes, v) {
				l.proj.Volumes = append(l.proj.Volumes, v)
			}
		}
	}
}

// addLinks adds the symlinks at the image root, outside what
// nix-docker makes itself.
func (l *loader) addLinks(sc *scope, img *schema.Image) {
	if links, ok := l.strMap(sc, img.Links, "attribute \"links\""); ok {
		for _, p := range sortedKeys(links) {
			target := links[p]
			if quote.CheckPath(p) != nil || p == "/" || strings.HasPrefix(p, "/nix/") || p == "/nix" || l.proj.HasRefs(p) {
				l.errorf(img.Links.Range(), "Invalid link", "A link is an absolute, clean path in the image outside /nix, such as \"/bin/sh\"; %q is not.", p)
				continue
			}
			if target == "" {
				l.errorf(img.Links.Range(), "Invalid link", "Link %s has an empty target.", p)
				continue
			}
			if reserved(p) {
				l.errorf(img.Links.Range(), "Reserved path", "%s is made by nix-docker itself (users, groups, /tmp, /run); it cannot be a link.", p)
				continue
			}
			if prev, seen := l.decls[decl{"link", p}]; seen {
				for _, have := range l.proj.Links {
					if have.Path == p && have.Target != target {
						l.errorf(img.Links.Range(), "Conflicting link", "Link %s is also declared, to another target, at %s.", p, prev)
					}
				}
				continue
			}
			l.decls[decl{"link", p}] = img.Links.Range()
			l.links[p] = linkDecl{at: itemRange(img.Links, p), where: "at " + itemRange(img.Links, p).String()}
			if sc.instance != "" {
				// A module's link is reported where the module is used.
				l.links[p] = linkDecl{at: sc.decl, where: fmt.Sprintf("by module %q (%s)", sc.instance, itemRange(img.Links, p))}
			}
			l.proj.Links = append(l.proj.Links, Link{Path: p, Target: target})
		}
	}
}

// linkDecl is where a root link was declared: the range to report at,
// and the declaration in words.
type linkDecl struct {
	at    hcl.Range
	where string
}

// checkLinks refuses links that overlap: a link at /bin and another at
// /bin/sh would need /bin to be a link and a directory at once. Links are
// taken in path order, so the same files always give the same error: at
// the longer path's declaration, naming the shorter one's.
func (l *loader) checkLinks() {
	links := append([]Link(nil), l.proj.Links...)
	sort.Slice(links, func(i, j int) bool { return links[i].Path < links[j].Path })
	for i, outer := range links {
		for _, inner := range links[i+1:] {
			if strings.HasPrefix(inner.Path, outer.Path+"/") {
				d, o := l.links[inner.Path], l.links[outer.Path]
				l.errorf(d.at, "Overlapping links", "Link %s, declared %s, lies under link %s, declared %s: a path cannot be a link and a directory holding a link. Link one of them only (%s's target may hold what %s needs).",
					inner.Path, d.where, outer.Path, o.where, outer.Path, inner.Path)
			}
		}
	}
}

// itemRange is the range of the item of an object literal whose key is
// key, or the whole expression's.
func itemRange(expr hcl.Expression, key string) hcl.Range {
	if obj, ok := expr.(*hclsyntax.ObjectConsExpr); ok {
		for _, item := range obj.Items {
			if k, d := item.KeyExpr.Value(nil); !d.HasErrors() && k.Type() == cty.String && k.AsString() == key {
				return hcl.RangeBetween(item.KeyExpr.Range(), item.ValueExpr.Range())
			}
		}
	}
	return expr.Range()
}

// reserved tells whether the image's root entries (the pipeline's write
// stage) hold p: /etc with its account files, /run, /tmp.
func reserved(p string) bool {
	if p == "/etc" || p == "/tmp" || p == "/run" || strings.HasPrefix(p, "/tmp/") || strings.HasPrefix(p, "/run/") {
		return true
	}
	for _, f := range contract.EtcFiles {
		if p == "/"+f {
			return true
		}
	}
	return false
}

// addEnv adds the image environment variables.
func (l *loader) addEnv(sc *scope, img *schema.Image) {
	if env, ok := l.strMap(sc, img.Env, "attribute \"env\""); ok {
		for _, k := range sortedKeys(env) {
			if prev, dup := l.decls[decl{"env", k}]; dup {
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
			l.decls[decl{"env", k}] = img.Env.Range()
			l.proj.Env = append(l.proj.Env, EnvVar{Name: k, Value: env[k]})
		}
	}
}

var secretName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)`)

// warnSecret warns when a value that looks like a secret is written into
// the file: it would land in the world-readable Nix store and the image.
func (l *loader) warnSecret(expr hcl.Expression, name, value string) {
	if value == "" || !secretName.MatchString(name) || l.proj.HasRefs(value) {
		return
	}
	rng := itemRange(expr, name)
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "Secret in the image",
		Detail: fmt.Sprintf("%s looks like a secret. Values written here end up in the world-readable Nix store and in every copy of the image. "+
			"Leave it out and pass it when the container starts: docker run -e %s=... (the init passes its environment on to services).", name, name),
		Subject: rng.Ptr(),
	})
}

// addNixpkgs reads the pinned package set.
