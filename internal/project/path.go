package project

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// copied is what the loader learnt of one path() target.
type copied struct {
	exclude []string // absolute paths the copy leaves out, sorted
	secrets []string // copied files that look like secrets, relative to the app's directory
}

// pendingWarning is a path() call's secrets warning, reported at the
// call once the expression holding it is evaluated.
type pendingWarning struct {
	rel     string // path()'s argument
	secrets []string
}

func (l *loader) pathFunc(sc *scope) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			rel := args[0].AsString()
			if sc.dir == "" {
				return cty.NilVal, fmt.Errorf("path() names files beside an HCL file; built-in modules have none, so pass the path in as an option")
			}
			if rel == "" || filepath.IsAbs(rel) || l.proj.HasRefs(rel) {
				return cty.NilVal, fmt.Errorf("path() takes a path relative to the HCL file, such as \"www\", not %q", l.proj.show(rel))
			}
			abs := filepath.Join(sc.dir, filepath.FromSlash(rel))
			c, err := l.copyOf(abs)
			if err != nil {
				return cty.NilVal, fmt.Errorf("path(%q): %w", rel, err)
			}
			if len(c.secrets) > 0 {
				l.pending = append(l.pending, pendingWarning{rel: rel, secrets: c.secrets})
				c.secrets = nil // warn once
			}
			return cty.StringVal(l.proj.placeholder(Ref{Kind: PathRef, Path: abs, Exclude: c.exclude})), nil
		},
	})
}

// copyOf checks that abs may be copied into the store and finds what the
// copy leaves out and what in it looks like a secret.
func (l *loader) copyOf(abs string) (*copied, error) {
	if c, ok := l.copies[abs]; ok {
		return c, nil
	}
	st, err := os.Lstat(abs)
	if err != nil {
		return nil, fmt.Errorf("%s does not exist (path() is relative to the HCL file's directory)", abs)
	}
	if err := l.inside(abs); err != nil {
		return nil, err
	}
	rules, err := l.ignoreRules()
	if err != nil {
		return nil, err
	}
	rel := l.relToApp(abs)
	if filepath.Base(abs) == ".git" || rules.excluded(rel) {
		return nil, fmt.Errorf("%s is excluded from copies by %s (or is .git)", rel, IgnoreFile)
	}
	c := &copied{}
	if st.IsDir() {
		if err := l.walkCopy(abs, rules, c); err != nil {
			return nil, err
		}
	} else if budget := int64(maxScanned); looksSecret(abs, st, &budget) {
		c.secrets = append(c.secrets, rel)
	}
	l.copies[abs] = c
	return c, nil
}

// inside checks that abs, symlinks resolved, lies in the app file's
// directory or one of the directories --allow-path names.
func (l *loader) inside(abs string) error {
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return err
	}
	for _, root := range append([]string{l.proj.Dir}, l.opts.AllowPaths...) {
		r, err := filepath.EvalSymlinks(root)
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(r, real); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return nil
		}
	}
	return fmt.Errorf("%s is outside the app file's directory %s (symlinks resolved); what path() copies goes into the world-readable Nix store, so a path outside it needs nix-docker --allow-path DIR", real, l.proj.Dir)
}

func (l *loader) ignoreRules() (ignoreRules, error) {
	if !l.ignoreRead {
		l.ignoreRead = true
		l.ignore, l.ignoreErr = readIgnore(l.proj.Dir)
	}
	return l.ignore, l.ignoreErr
}

// relToApp is abs relative to the app file's directory, slash-separated
// (with ".." when outside).
func (l *loader) relToApp(abs string) string {
	rel, err := filepath.Rel(l.proj.Dir, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}

// maxScanned bounds the bytes of file contents looked at for secrets in
// one copied directory (names are always looked at): a big tree costs a
// check at most this much reading.
const maxScanned = 32 << 20

// walkCopy lists what a copied directory leaves out (.git and the
// ignore file's matches; a directory left out takes its contents with
// it) and the copied files that look like secrets. Symlinks are copied
// as links, never followed.
func (l *loader) walkCopy(root string, rules ignoreRules, c *copied) error {
	budget := int64(maxScanned)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if d.Name() == ".git" || rules.excluded(l.relToApp(p)) {
			c.exclude = append(c.exclude, p)
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			if st, err := d.Info(); err == nil && looksSecret(p, st, &budget) {
				c.secrets = append(c.secrets, l.relToApp(p))
			}
		}
		return nil
	})
	sort.Strings(c.exclude)
	return err
}

var (
	secretFileName = regexp.MustCompile(`^(\.env(\..*)?|\.netrc|.*\.(pem|key|p12|pfx)|id_[^.]*)$`)
	secretText     = regexp.MustCompile(`-----BEGIN ([A-Z]+ )*PRIVATE KEY( BLOCK)?-----|\bAKIA[0-9A-Z]{16}\b`)
)

// looksSecret tells whether a file's name or its first 64 KiB look like
// a secret: .env files, keys and certificates' private halves, SSH keys,
// PEM private key blocks, AWS access key ids. The bytes read come out of
// budget; once it is spent, only names are looked at.
func looksSecret(p string, st fs.FileInfo, budget *int64) bool {
	if !st.Mode().IsRegular() {
		return false
	}
	if secretFileName.MatchString(filepath.Base(p)) {
		return true
	}
	if *budget <= 0 {
		return false
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head, _ := io.ReadAll(io.LimitReader(f, min(64<<10, *budget)))
	*budget -= int64(len(head))
	return secretText.Match(head)
}

// flushWarnings reports the secrets warnings of the path() calls in
// expr, at each call.
func (l *loader) flushWarnings(expr hcl.Expression) {
	for _, w := range l.pending {
		shown := w.secrets
		more := ""
		if len(shown) > 5 {
			shown, more = shown[:5], fmt.Sprintf(" and %d more", len(w.secrets)-5)
		}
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Secret in the image",
			Detail: fmt.Sprintf("path(%q) copies files that look like secrets into the world-readable Nix store and the image: %s%s. "+
				"Leave them out with %s beside the app file (.dockerignore syntax), and pass secrets when the container starts.",
				w.rel, strings.Join(shown, ", "), more, IgnoreFile),
			Subject: pathCall(expr, w.rel).Ptr(),
		})
	}
	l.pending = nil
}

// pathCall finds the path(rel) call in expr, for a diagnostic's range.
func pathCall(expr hcl.Expression, rel string) hcl.Range {
	rng := expr.Range()
	if n, ok := expr.(hclsyntax.Node); ok {
		hclsyntax.VisitAll(n, func(n hclsyntax.Node) hcl.Diagnostics {
			if call, ok := n.(*hclsyntax.FunctionCallExpr); ok && call.Name == "path" && len(call.Args) == 1 {
				if v, d := call.Args[0].Value(nil); !d.HasErrors() && v.Type() == cty.String && v.AsString() == rel {
					rng = call.Range()
				}
			}
			return nil
		})
	}
	return rng
}
