package npm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// lockJSON is the part of package-lock.json nix-docker reads.
type lockJSON struct {
	LockfileVersion int                  `json:"lockfileVersion"`
	Packages        map[string]lockEntry `json:"packages"`
}

// lockEntry is one entry of the packages section.
type lockEntry struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Resolved             string            `json:"resolved"`
	Integrity            string            `json:"integrity"`
	Link                 bool              `json:"link"`
	Dev                  bool              `json:"dev"`
	Optional             bool              `json:"optional"`
	InBundle             bool              `json:"inBundle"`
	HasInstallScript     bool              `json:"hasInstallScript"`
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
}

func (e *lockEntry) deps(kind string) map[string]string {
	switch kind {
	case "dependencies":
		return e.Dependencies
	case "devDependencies":
		return e.DevDependencies
	case "optionalDependencies":
		return e.OptionalDependencies
	default:
		return e.PeerDependencies
	}
}

func readLock(dir string, p *Project) (*lockJSON, keyLines) {
	b, err := os.ReadFile(filepath.Join(dir, LockFile))
	if errors.Is(err, os.ErrNotExist) {
		p.problem(LockFile, 0, "", "There is no package-lock.json in %s: %s", dir, noLockHint(dir))
		return nil, nil
	}
	if err != nil {
		p.problem(LockFile, 0, "", "Cannot read it: %v.", err)
		return nil, nil
	}
	var lock lockJSON
	if line, msg, bad := decode(b, &lock); bad {
		p.problem(LockFile, line, "", "%s", msg)
		return nil, nil
	}
	lines := findKeyLines(b)
	switch {
	case lock.LockfileVersion == 1:
		p.problem(LockFile, lines.top("lockfileVersion"), "lockfileVersion", "This is a lockfile v1 (npm 6 and older), which has no packages section to build from. Run `npm install --package-lock-only` with npm 7 or newer to rewrite it as v3, and commit it.")
		return nil, nil
	case lock.LockfileVersion != 2 && lock.LockfileVersion != 3:
		p.problem(LockFile, lines.top("lockfileVersion"), "lockfileVersion", "Lockfile version %d is not one nix-docker reads (2 or 3, written by npm 7 and newer).", lock.LockfileVersion)
		return nil, nil
	case lock.Packages == nil:
		p.problem(LockFile, 0, "", "The lockfile has no packages section. Run `npm install --package-lock-only` and commit it.")
		return nil, nil
	}
	if _, ok := lock.Packages[""]; !ok {
		p.problem(LockFile, lines.top("packages"), `packages[""]`, "The lockfile has no root entry (\"\"), which npm 7 and newer write. Run `npm install --package-lock-only` and commit it.")
		return nil, nil
	}
	return &lock, lines
}

// noLockHint says how to make the lockfile, naming what is there instead.
func noLockHint(dir string) string {
	for _, other := range []struct{ file, hint string }{
		{"npm-shrinkwrap.json", "there is an npm-shrinkwrap.json, which nixpkgs' importNpmLock does not read; rename it to package-lock.json."},
		{"yarn.lock", "there is a yarn.lock; the node module builds from npm's lockfile: run `npm install --package-lock-only` and commit package-lock.json."},
		{"pnpm-lock.yaml", "there is a pnpm-lock.yaml; the node module builds from npm's lockfile: run `npm install --package-lock-only` and commit package-lock.json."},
	} {
		if _, err := os.Stat(filepath.Join(dir, other.file)); err == nil {
			return other.hint
		}
	}
	return "dependencies are built from the lockfile only. Run `npm install --package-lock-only` there and commit package-lock.json."
}

// checkSync compares package.json's dependency sections with the
// lockfile's root entry and its top-level packages, as `npm ci` does.
func checkSync(pkg *packageJSON, pl keyLines, lock *lockJSON, ll keyLines, p *Project) {
	root := lock.Packages[""]
	rootLine := ll.entry("")
	for _, kind := range depKinds {
		want, have := pkg.deps(kind), root.deps(kind)
		for _, name := range sortedKeys(want) {
			entry := fmt.Sprintf("%s[%q]", kind, name)
			spec, ok := have[name]
			switch {
			case !ok:
				p.problem(PackageFile, pl.at(kind, name), entry, "package.json asks for %s %s, which package-lock.json does not list. %s", name, want[name], fixSync)
			case spec != want[name]:
				p.problem(PackageFile, pl.at(kind, name), entry, "package.json asks for %s %s, package-lock.json was written for %s. %s", name, want[name], spec, fixSync)
			case kind == "dependencies" || kind == "devDependencies":
				if _, ok := lock.Packages["node_modules/"+name]; !ok {
					p.problem(PackageFile, pl.at(kind, name), entry, "package-lock.json has no entry node_modules/%s for it. %s", name, fixSync)
				}
			}
		}
		for _, name := range sortedKeys(have) {
			if _, ok := want[name]; !ok {
				p.problem(LockFile, rootLine, fmt.Sprintf(`packages[""].%s[%q]`, kind, name), "package-lock.json lists %s, which package.json no longer asks for. %s", name, fixSync)
			}
		}
	}
}

// sri is one Subresource Integrity hash of a kind Nix checks.
var sri = regexp.MustCompile(`^(sha1|sha256|sha512)-[A-Za-z0-9+/]+=*$`)

// checkEntries checks that every package a production install needs can
// be fetched by its integrity hash, and lists them.
func checkEntries(lock *lockJSON, ll keyLines, p *Project) {
	for _, path := range sortedKeys(lock.Packages) {
		e := lock.Packages[path]
		line := ll.entry(path)
		entry := fmt.Sprintf("packages[%q]", path)
		switch {
		case path == "" || e.Dev || e.InBundle:
			// the app itself; devDependencies (left out); bundled in their parent's tarball
			continue
		case e.Link:
			p.problem(LockFile, line, entry, "A link to %s (a file: dependency or a workspace). Only packages fetched by their integrity hash are built: publish it to a registry, or make it part of the app's own files.", e.Resolved)
			continue
		case !strings.Contains(path, "node_modules/"):
			continue // a link's target, reported at the link
		}
		name := e.Name
		if name == "" {
			name = path[strings.LastIndex(path, "node_modules/")+len("node_modules/"):]
		}
		if !checkSource(e, entry, line, p) {
			continue
		}
		p.Packages = append(p.Packages, Entry{Path: path, Name: name, Version: e.Version, Resolved: e.Resolved, Integrity: e.Integrity, InstallScript: e.HasInstallScript, Line: line})
	}
}

// checkSource checks where one entry comes from and its hash.
func checkSource(e lockEntry, entry string, line int, p *Project) bool {
	r := e.Resolved
	switch {
	case isGit(r):
		p.problem(LockFile, line, entry, "A git dependency (%s). Git sources have no integrity hash in the lockfile, so they cannot be fetched by hash (importNpmLock would fetch them with builtins.fetchGit while evaluating). Publish the package to a registry, or depend on a released version.", r)
		return false
	case r != "" && !strings.HasPrefix(r, "https://") && !strings.HasPrefix(r, "http://"):
		p.problem(LockFile, line, entry, "A file: dependency (%s). Only packages fetched by their integrity hash are built: publish it to a registry, or make it part of the app's own files.", r)
		return false
	case e.Integrity == "":
		p.problem(LockFile, line, entry, "No integrity hash, so it cannot be fetched by hash. Run `npm install --package-lock-only` to record it; a dependency on a tarball URL gets one when npm fetches it.")
		return false
	case !sri.MatchString(e.Integrity):
		p.problem(LockFile, line, entry, "The integrity %q is not one sha1, sha256 or sha512 hash, which is what Nix fetches by.", e.Integrity)
		return false
	case r == "" && e.Version == "":
		p.problem(LockFile, line, entry, "No resolved URL and no version: there is no registry URL to fetch it from. Run `npm install --package-lock-only` and commit package-lock.json.")
		return false
	}
	return true
}

// isGit tells whether a resolved spec is a git source.
func isGit(r string) bool {
	for _, prefix := range []string{"git+", "git:", "git@", "github:", "gitlab:", "bitbucket:", "ssh://"} {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}
