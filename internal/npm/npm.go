package npm

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The files a project is read from, relative to its directory.
const (
	PackageFile = "package.json"
	LockFile    = "package-lock.json"
	RCFile      = ".npmrc"
)

// DefaultRegistry is npm's own registry, where a lockfile entry without a
// resolved URL comes from unless .npmrc or the module says otherwise.
const DefaultRegistry = "https://registry.npmjs.org"

// Project is what nix-docker reads of a Node.js project directory.
type Project struct {
	Name    string
	Version string
	// Start is the command line `npm start` runs: scripts.start (after
	// scripts.prestart, which must succeed first: prestartThen), else
	// `node MAIN` for package.json's main, else `node server.js` when
	// server.js exists (npm's own default); "" when there is none.
	Start string
	// Registry is the registry the project's .npmrc names (registry=),
	// without a trailing slash; "" when it names none.
	Registry string
	// Scopes maps a scope ("@acme") to the registry .npmrc names for it
	// (@acme:registry=).
	Scopes map[string]string
	// Packages are the lockfile entries a production install fetches,
	// sorted by path; devDependencies are left out.
	Packages []Entry
	// Problems are the reasons the project cannot be built from its
	// lockfile, in file order.
	Problems []Problem
}

// Entry is one package of the lockfile's packages section.
type Entry struct {
	Path      string // "node_modules/express", "node_modules/a/node_modules/b"
	Name      string // "express", "@redis/client"
	Version   string
	Resolved  string // "" when npm wrote none (omit-lockfile-registry-resolved)
	Integrity string // one SRI hash, "sha512-..."
	// InstallScript is npm's hasInstallScript: the package has a
	// preinstall, install or postinstall script, or a binding.gyp.
	InstallScript bool
	Line          int // its line in package-lock.json
}

// Problem is one reason a project cannot be built, located in its file.
type Problem struct {
	File    string // PackageFile, LockFile or RCFile
	Line    int    // 1-based; 0 when the whole file is meant
	Entry   string // the entry, such as packages["node_modules/x"]; "" for the file
	Message string // what is wrong and how to fix it, in sentences
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	if p.Entry != "" {
		b.WriteString(": " + p.Entry)
	}
	b.WriteString(": " + p.Message)
	return b.String()
}

// MaxProblems is how many problems Read reports; a lockfile with one
// mistake in every entry says so in a few lines.
const MaxProblems = 10

// Read reads the project in dir. It always returns a Project; what it
// could not read is among its Problems.
func Read(dir string) *Project {
	p := &Project{Scopes: map[string]string{}}
	pkg, pkgLines := readPackage(dir, p)
	readRC(dir, p)
	if pkg == nil {
		return p
	}
	p.Name, p.Version = pkg.Name, pkg.Version
	p.Start = startCommand(dir, pkg)
	if strings.ContainsRune(p.Start, 0) {
		entry, line := "scripts", pkgLines.top("scripts")
		if pkg.Scripts["start"] == "" {
			entry, line = "main", pkgLines.top("main")
		}
		p.problem(PackageFile, line, entry, "The start command holds a NUL byte, which no command line can carry.")
		p.Start = ""
	}
	lock, lockLines := readLock(dir, p)
	if lock == nil {
		return p
	}
	checkSync(pkg, pkgLines, lock, lockLines, p)
	checkEntries(lock, lockLines, p)
	return p
}

// Problem texts, one per kind of mistake.
const (
	fixSync = "The lockfile is out of sync with package.json: run `npm install` (or `npm install --package-lock-only`) and commit package-lock.json."
)

func (p *Project) problem(file string, line int, entry, format string, args ...any) {
	p.Problems = append(p.Problems, Problem{File: file, Line: line, Entry: entry, Message: fmt.Sprintf(format, args...)})
}

// Summary is every problem, one per line, at most MaxProblems of them.
func (p *Project) Summary() string {
	var lines []string
	for i, pr := range p.Problems {
		if i == MaxProblems {
			lines = append(lines, fmt.Sprintf("(and %d more)", len(p.Problems)-MaxProblems))
			break
		}
		lines = append(lines, pr.String())
	}
	return strings.Join(lines, "\n")
}

// packageJSON is the part of package.json nix-docker reads.
type packageJSON struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Main                 string            `json:"main"`
	Scripts              map[string]string `json:"scripts"`
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
}

// depKinds are package.json's dependency sections, which the lockfile's
// root entry repeats.
var depKinds = []string{"dependencies", "devDependencies", "optionalDependencies", "peerDependencies"}

func (j *packageJSON) deps(kind string) map[string]string {
	switch kind {
	case "dependencies":
		return j.Dependencies
	case "devDependencies":
		return j.DevDependencies
	case "optionalDependencies":
		return j.OptionalDependencies
	default:
		return j.PeerDependencies
	}
}

func readPackage(dir string, p *Project) (*packageJSON, keyLines) {
	b, err := os.ReadFile(filepath.Join(dir, PackageFile))
	if errors.Is(err, os.ErrNotExist) {
		p.problem(PackageFile, 0, "", "There is no package.json in %s. The node module builds an npm project: its directory holds package.json and package-lock.json.", dir)
		return nil, nil
	}
	if err != nil {
		p.problem(PackageFile, 0, "", "Cannot read it: %v.", err)
		return nil, nil
	}
	var pkg packageJSON
	if line, msg, bad := decode(b, &pkg); bad {
		p.problem(PackageFile, line, "", "%s", msg)
		return nil, nil
	}
	return &pkg, findKeyLines(b)
}

// decode unmarshals JSON, reporting a failure with its line.
func decode(b []byte, v any) (line int, msg string, bad bool) {
	err := json.Unmarshal(b, v)
	if err == nil {
		return 0, "", false
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return lineAt(b, se.Offset), fmt.Sprintf("Not valid JSON: %v.", se), true
	case errors.As(err, &te):
		return lineAt(b, te.Offset), fmt.Sprintf("%s is a JSON %s here; npm writes a %s.", te.Field, te.Value, jsonKind(te.Type.Kind().String())), true
	default:
		return 0, fmt.Sprintf("Not valid JSON: %v.", err), true
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "map", "struct":
		return "object"
	case "slice":
		return "list"
	case "int", "int64", "float64":
		return "number"
	default:
		return goKind
	}
}

// startCommand is what `npm start` would run in dir.
func startCommand(dir string, pkg *packageJSON) string {
	if s := strings.TrimSpace(pkg.Scripts["start"]); s != "" {
		if pre := strings.TrimSpace(pkg.Scripts["prestart"]); pre != "" {
			return prestartThen(pre, s)
		}
		return s
	}
	if pkg.Main != "" {
		return "node " + shellQuote(pkg.Main)
	}
	if _, err := os.Stat(filepath.Join(dir, "server.js")); err == nil {
		return "node server.js"
	}
	return ""
}

// prestartThen is the shell line that runs pre, then start if pre
// succeeded, each as a command of its own, as npm runs them: pre in a
// subshell (its cd, variables and exit stay in it), start in a group,
// each on lines of its own, so that whatever a script ends with (a
// comment, ";", "&", a here-document) ends with it. The newlines survive
// node.hcl's shell_quote and the init's SplitWords (single quotes).
func prestartThen(pre, start string) string {
	return "(\n" + pre + "\n) && {\n" + start + "\n}"
}

// shellQuote quotes a word for a command line split like a shell's.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
