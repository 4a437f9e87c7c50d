package npm

import (
	"bufio"
	"bytes"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// scopeKey is an .npmrc key naming a scope's registry.
var scopeKey = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._~-]*):registry$`)

// readRC reads the registry settings of the project's .npmrc. Settings of
// the user or the machine (~/.npmrc, npm_config_registry) are not read:
// the build would then depend on who runs it.
func readRC(dir string, p *Project) {
	b, err := os.ReadFile(filepath.Join(dir, RCFile))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		p.problem(RCFile, 0, "", "Cannot read it: %v.", err)
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.Trim(strings.TrimSpace(value), `"'`)
		if isCredential(key) {
			p.problem(RCFile, n, key, "A credential in the app's own files: path() copies them into the world-readable Nix store and the image. Keep it in ~/.npmrc, and give Nix the registry's credentials as a netrc-file (nix.conf).")
			continue
		}
		var scope string
		if m := scopeKey.FindStringSubmatch(key); m != nil {
			scope = m[1]
		} else if key != "registry" {
			continue
		}
		reg, msg := CheckRegistry(value)
		if msg != "" {
			p.problem(RCFile, n, key, "%s", msg)
			continue
		}
		if scope == "" {
			p.Registry = reg
		} else {
			p.Scopes[scope] = reg
		}
	}
}

// isCredential tells whether an .npmrc key holds a secret.
func isCredential(key string) bool {
	k := key[strings.LastIndex(key, ":")+1:]
	switch k {
	case "_authToken", "_auth", "_password", "password", "certfile", "keyfile":
		return true
	}
	return false
}

// CheckRegistry checks a registry URL and returns it without a trailing
// slash, or a message saying what is wrong with it.
func CheckRegistry(s string) (string, string) {
	if strings.Contains(s, "${") {
		return "", "The registry names an environment variable, which npm expands and nix-docker does not: the build would depend on who runs it. Write the URL itself."
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, " \t\"'\\") {
		return "", "The registry " + quoteForMessage(s) + " is not an http:// or https:// URL (without credentials, query or fragment), such as https://registry.npmjs.org/."
	}
	return strings.TrimRight(s, "/"), ""
}

func quoteForMessage(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return "\"" + s + "\""
}
