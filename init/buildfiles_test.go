package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildFiles(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "runspec-src")
	os.WriteFile(src, []byte(`{"version":1}`), 0o600)
	env := map[string]string{"runspecPath": src}
	out := filepath.Join(dir, "out")
	entries := `[
		{"path":"runspec.json","from":"runspecPath","mode":420},
		{"path":"etc/passwd","from":"runspecPath","mode":420},
		{"path":"sw/bin/node","link":"/nix/store/x-nodejs/bin/node"},
		{"path":"bin/tool","from":"runspecPath","mode":365,"check":{"later":true}}
	]`
	if err := buildFiles(out, entries, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		".": 0o555 | os.ModeDir, "etc": 0o555 | os.ModeDir, "sw/bin": 0o555 | os.ModeDir,
		"runspec.json": 0o644, "etc/passwd": 0o644, "bin/tool": 0o555,
	} {
		fi, err := os.Lstat(filepath.Join(out, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if fi.Mode() != want {
			t.Errorf("mode of %s = %v, want %v", path, fi.Mode(), want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "etc/passwd")); string(b) != `{"version":1}` {
		t.Errorf("etc/passwd = %q", b)
	}
	if l, _ := os.Readlink(filepath.Join(out, "sw/bin/node")); l != "/nix/store/x-nodejs/bin/node" {
		t.Errorf("link = %q", l)
	}

	// "" makes $out itself the file.
	single := filepath.Join(dir, "single")
	if err := buildFiles(single, `[{"path":"","from":"runspecPath","mode":365}]`, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(single); err != nil || fi.Mode() != 0o555 {
		t.Errorf("single file: %v, %v", fi, err)
	}
}

func TestBuildFilesErrors(t *testing.T) {
	dir := t.TempDir()
	getenv := func(k string) string { return map[string]string{"p": "/nonexistent/file"}[k] }
	for _, tc := range []struct{ out, entries, want string }{
		{"", `[]`, "$out is not set"},
		{dir + "/a", ``, "$entries is not set"},
		{dir + "/b", `{`, "$entries"},
		{dir + "/c", `[{"path":"x","from":"missing"}]`, "missing"},
		{dir + "/d", `[{"path":"x","from":"p"}]`, "no such file"},
		{dir + "/e", `[{"path":"../x","link":"/y"}]`, "inside $out"},
		{dir + "/f", `[{"path":"x"}]`, "exactly one of from and link"},
		{dir + "/g", `[{"path":"x","link":"/y","extra":1}]`, "unknown field"},
	} {
		err := buildFiles(tc.out, tc.entries, getenv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("buildFiles(%q, %q) = %v, want an error with %q", tc.out, tc.entries, err, tc.want)
		}
	}
}
