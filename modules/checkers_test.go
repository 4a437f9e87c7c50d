package modules_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// run runs a program with a time limit and returns its output, stdout
// and stderr together.
func run(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("%s did not end within 30 s", name)
	}
}

// checkApache: httpd -t reads the file; it also refuses a DocumentRoot
// that is not a directory, and only the directory made for the value
// exists.
func checkApache(t *testing.T, env *testEnv, file, text string, o option, v string) error {
	out, err := run("apache2", "-t", "-f", file)
	if err != nil || !strings.Contains(out, "Syntax OK") {
		return fmt.Errorf("apache2 -t: %v: %s", err, out)
	}
	return nil
}

// checkNginx: nginx -t reads the file, listening on a socket instead of
// the port (as the module's own check does); the root token reads back
// as the value.
func checkNginx(t *testing.T, env *testEnv, file, text string, o option, v string) error {
	dir := filepath.Dir(file)
	conf := regexp.MustCompile(`(?m)^( *)listen [^;]*;`).ReplaceAllString(text, "${1}listen unix:"+dir+"/check.sock;")
	conf = regexp.MustCompile(`(?m)^user .*$`).ReplaceAllString(conf, "")
	if err := os.WriteFile(file+".check", []byte(conf), 0o644); err != nil {
		return err
	}
	if out, err := run("nginx", "-t", "-q", "-e", "stderr", "-p", dir+"/", "-c", file+".check"); err != nil {
		return fmt.Errorf("nginx -t: %v: %s", err, out)
	}
	if o.name == "root" && v != "" {
		m := regexp.MustCompile(`(?m)^\s*root ("(?:[^"\\]|\\.)*");`).FindStringSubmatch(text)
		if m == nil || nginxUnquote(m[1]) != v {
			return fmt.Errorf("root reads back as %q, want %q", m, v)
		}
	}
	return nil
}

// nginxUnquote reads a double-quoted nginx token as ngx_conf_read_token
// does.
func nginxUnquote(tok string) string {
	in := tok[1 : len(tok)-1]
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		if in[i] == '\\' && i+1 < len(in) {
			if r, ok := map[byte]string{'"': `"`, '\'': "'", '\\': `\`, 't': "\t", 'r': "\r", 'n': "\n"}[in[i+1]]; ok {
				b.WriteString(r)
				i++
				continue
			}
		}
		b.WriteByte(in[i])
	}
	return b.String()
}

// checkRedis starts redis-server on the file, listening nowhere: it
// loads the configuration (chdir-ing into dir, which exists only under
// the value's exact name) and exits.
func checkRedis(t *testing.T, env *testEnv, file, text string, o option, v string) error {
	out, _ := run("redis-server", file, "--port", "0")
	if strings.Contains(out, "FATAL") || !strings.Contains(out, "Configuration loaded") {
		return fmt.Errorf("redis-server: %s", out)
	}
	return nil
}

// checkLighttpd: lighttpd -tt loads the file and its modules; -p prints
// document-root as lighttpd read it.
func checkLighttpd(t *testing.T, env *testEnv, file, text string, o option, v string) error {
	if out, err := run("lighttpd", "-tt", "-f", file, "-m", "/usr/lib/lighttpd"); err != nil {
		return fmt.Errorf("lighttpd -tt: %v: %s", err, out)
	}
	if o.name == "document_root" {
		out, err := run("lighttpd", "-p", "-f", file, "-m", "/usr/lib/lighttpd")
		m := regexp.MustCompile(`(?m)^\s*server\.document-root\s*=\s*"(.*)"$`).FindStringSubmatch(out)
		if err != nil || m == nil || strings.ReplaceAll(m[1], `\"`, `"`) != v {
			return fmt.Errorf("lighttpd -p prints document-root %q, want %q (%v)", m, v, err)
		}
	}
	return nil
}

// checkPostgreSQL: postgres -C reads the file and prints a setting as it
// read it: listen_addresses, or the custom setting the test sets.
func checkPostgreSQL(t *testing.T, env *testEnv, file, text string, o option, v string) error {
	data := filepath.Join(filepath.Dir(file), "pgdata")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	os.Chmod(filepath.Dir(file), 0o755)
	os.Chmod(file, 0o644)
	exec.Command("chown", "-R", "nobody", data).Run()
	name, want := "listen_addresses", "*"
	switch o.name {
	case "listen":
		want = v
	case "settings":
		name, want = "nixdocker.test", v
	}
	out, err := run("runuser", "-u", "nobody", "--", env.pkg["postgresql"]+"/bin/postgres", "-D", data, "-c", "config_file="+file, "-C", name)
	if err != nil {
		return fmt.Errorf("postgres -C: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if got := strings.Join(lines[len(lines)-strings.Count(want, "\n")-1:], "\n"); got != want {
		return fmt.Errorf("postgres -C %s prints %q, want %q", name, got, want)
	}
	return nil
}

// valuesEnd ends the block of a module's script that holds the options'
// values, quoted; past it the script uses only variables.
const valuesEnd = "# End of the options' values.\n"

// checkShell: sh -n reads the script; run alone, its block of values
// sets each variable to the value; past the block the script is the
// same as with plain values.
func checkShell(t *testing.T, env *testEnv, file, text string, o option, v string) error {
	if out, err := run("sh", "-n", file); err != nil {
		return fmt.Errorf("sh -n: %v: %s", err, out)
	}
	head, _, ok := strings.Cut(text, valuesEnd)
	if !ok {
		return fmt.Errorf("the script has no %q line", strings.TrimSpace(valuesEnd))
	}
	out, err := run("sh", "-c", head+`printf '%s\0' "$data" "$user" "$db"`)
	if err != nil {
		return fmt.Errorf("running the values block: %v: %s", err, out)
	}
	got := strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
	want := map[string]string{"data_dir": got[0], "user": got[1], "database": got[2]}
	switch o.name {
	case "data_dir":
		if got[0] != v+"/data" {
			return fmt.Errorf("$data is %q, want %q", got[0], v+"/data")
		}
	case "user", "database":
		if want[o.name] != v {
			return fmt.Errorf("$%s is %q, want %q", o.name, want[o.name], v)
		}
	}
	return nil
}
