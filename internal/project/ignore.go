package project

import (
	"os"
	"path"
	"regexp"
	"strings"
)

// IgnoreFile lists, beside the app file, what path() leaves out of the
// directories it copies, in .dockerignore's syntax.
const IgnoreFile = ".nix-dockerignore"

// ignoreRule is one line of IgnoreFile.
type ignoreRule struct {
	re     *regexp.Regexp
	negate bool // the line started with "!": it takes paths back in
}

// ignoreRules are the lines of IgnoreFile, in order; the last that
// matches a path decides.
type ignoreRules []ignoreRule

// readIgnore reads dir's IgnoreFile; a missing file is no rules.
func readIgnore(dir string) (ignoreRules, error) {
	b, err := os.ReadFile(path.Join(dir, IgnoreFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseIgnore(string(b)), nil
}

// parseIgnore reads .dockerignore syntax: one pattern a line, # starts
// a comment line, ! negates, a leading / is dropped (patterns are
// relative to the app file's directory), * and ? match within one path
// element, ** matches any number of them, [...] is a class, \ escapes.
func parseIgnore(text string) ignoreRules {
	var rules ignoreRules
	for _, line := range strings.Split(text, "\n") {
		p := strings.TrimSpace(line)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		r := ignoreRule{}
		if r.negate = strings.HasPrefix(p, "!"); r.negate {
			p = strings.TrimSpace(p[1:])
		}
		p = strings.TrimPrefix(path.Clean("/"+p), "/")
		if p == "" {
			continue
		}
		re, err := regexp.Compile(globRegexp(p))
		if err != nil {
			continue // an unterminated [ matches nothing, as in Docker
		}
		r.re = re
		rules = append(rules, r)
	}
	return rules
}

// globRegexp turns one pattern into an anchored regular expression.
func globRegexp(p string) string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '*' && strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case c == '*' && strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			j := strings.IndexByte(p[i+1:], ']')
			if j < 0 {
				return "[" // not a valid expression: the rule is dropped
			}
			class := p[i+1 : i+1+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += j + 1
		case c == '\\' && i+1 < len(p):
			i++
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	return b.String()
}

// excluded tells whether rel (slash-separated, relative to the app
// file's directory) is left out: a rule matches a path when it matches
// the path or one of the directories above it.
func (rs ignoreRules) excluded(rel string) bool {
	out := false
	for _, r := range rs {
		if r.matches(rel) {
			out = !r.negate
		}
	}
	return out
}

func (r ignoreRule) matches(rel string) bool {
	for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if r.re.MatchString(p) {
			return true
		}
	}
	return false
}
