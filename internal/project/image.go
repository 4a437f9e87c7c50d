package project

import (
	"fmt"
	"regexp"
	"slices"
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
			l.proj.Links = append(l.proj.Links, Link{Path: p, Target: target})
		}
	}
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
