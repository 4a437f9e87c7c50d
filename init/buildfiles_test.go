package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
		{"path":"bin/tool","from":"runspecPath","mode":365}
	]`
	if err := buildFiles(out, entries, func(k string) string { return env[k] }, io.Discard); err != nil {
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
	if err := buildFiles(single, `[{"path":"","from":"runspecPath","mode":365}]`, func(k string) string { return env[k] }, io.Discard); err != nil {
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
		{dir + "/h", `[{"path":"x","link":"/y","check":"true"}]`, "unknown field"},
	} {
		err := buildFiles(tc.out, tc.entries, getenv, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("buildFiles(%q, %q) = %v, want an error with %q", tc.out, tc.entries, err, tc.want)
		}
	}
}

func TestBuildFilesCheck(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "text")
	os.WriteFile(src, []byte("listen foo;\n"), 0o600)
	for i, tc := range []struct {
		check  string
		want   string // the error, "" for none
		stderr string // what the check printed
	}{
		{`/bin/sh -c 'grep -q foo $out'`, "", ""},
		{`/bin/sh -c 'grep -q bar $out'`, `check failed: /bin/sh -c 'grep -q bar $out': exit 1`, ""},
		// Output goes to stderr; $out is replaced inside words, quoted or not.
		{`/bin/sh -c 'echo "checking $0"; echo oops >&2' "x$out.y"`, "", "checking x" + dir + "/out2.y\noops\n"},
		{`/bin/sh -c 'exit 3'`, `check failed: /bin/sh -c 'exit 3': exit 3`, ""},
		{`/bin/sh -c 'kill -SEGV $$'`, `check failed: /bin/sh -c 'kill -SEGV $$': exit 139 (signal SEGV)`, ""},
		{`/nonexistent/nginx -t -c $out`, `check failed: /nonexistent/nginx -t -c $out: `, ""},
		{`/bin/sh -c 'unterminated`, "unterminated single quote", ""},
		// stdin is /dev/null.
		{`/bin/sh -c 'test -z "$(cat)"'`, "", ""},
	} {
		out := filepath.Join(dir, "out"+strconv.Itoa(i))
		env := map[string]string{"textPath": src, "check": tc.check}
		var stderr bytes.Buffer
		err := buildFiles(out, `[{"path":"","from":"textPath"}]`, func(k string) string { return env[k] }, &stderr)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("check %q: buildFiles = %v, want nil", tc.check, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want) && !strings.Contains(err.Error(), tc.want)):
			t.Errorf("check %q: buildFiles = %v, want %q", tc.check, err, tc.want)
		}
		if stderr.String() != tc.stderr {
			t.Errorf("check %q: stderr = %q, want %q", tc.check, stderr.String(), tc.stderr)
		}
	}
}

// TestBuildFilesCheckMain runs the binary's build-files mode as Nix would,
// for the exact lines a failed check prints and the exit code.
func TestBuildFilesCheckMain(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "nix-docker-init")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "text")
	os.WriteFile(src, []byte("hello\n"), 0o600)
	for _, tc := range []struct {
		check, stderr string
		code          int
	}{
		{`/bin/sh -c 'grep -q hello $out'`, "", 0},
		{`/bin/sh -c 'echo "$out: syntax error" >&2; exit 2'`, dir + "/out1: syntax error\nnix-docker-init: check failed: /bin/sh -c 'echo \"$out: syntax error\" >&2; exit 2': exit 2\n", 1},
	} {
		out := filepath.Join(dir, "out"+strconv.Itoa(tc.code))
		cmd := exec.Command(bin, "build-files")
		cmd.Env = []string{"out=" + out, "textPath=" + src, `entries=[{"path":"","from":"textPath"}]`, "check=" + tc.check}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || stderr.String() != tc.stderr || stdout.Len() != 0 {
			t.Errorf("check %q: exit %d, stdout %q, stderr %q; want exit %d, stderr %q", tc.check, code, stdout.String(), stderr.String(), tc.code, tc.stderr)
		}
	}
}
