package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// The markers docs/tutorial.md puts on the line before a fenced block.
// HTML comments: GitHub does not render them.
const (
	markRun    = "<!-- tutorial: run -->"                 // a ```sh block that must succeed
	markFails  = "<!-- tutorial: fails -->"               // a ```sh block that must exit non-zero
	markSilent = "<!-- tutorial: run, prints nothing -->" // a ```sh block that must succeed and print nothing
	markOutput = "<!-- tutorial: output -->"              // a ```text block: what the block before printed
)

// tutorialBlock is one marked fenced block of the tutorial.
type tutorialBlock struct {
	line int    // the fence's line in the file, 1-based
	mark string // one of the mark* constants
	text string // the block's contents, each line ending in \n
}

// parseTutorial returns the marked blocks of a tutorial in order. Every
// fenced block must be marked, commands as ```sh, outputs as ```text
// right after a command block: an unmarked block would be a command no
// test runs.
func parseTutorial(md string) ([]tutorialBlock, error) {
	lines := strings.Split(md, "\n")
	var blocks []tutorialBlock
	mark, markLine := "", 0
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t\r")
		switch {
		case strings.HasPrefix(line, "<!-- tutorial:"):
			if mark != "" {
				return nil, fmt.Errorf("line %d: a marker after the marker of line %d, with no block between", i+1, markLine)
			}
			switch line {
			case markRun, markFails, markSilent, markOutput:
			default:
				return nil, fmt.Errorf("line %d: unknown marker %q", i+1, line)
			}
			mark, markLine = line, i+1
		case strings.HasPrefix(line, "```"):
			b, end, err := fencedBlock(lines, i, mark)
			if err != nil {
				return nil, err
			}
			if mark == markOutput && (len(blocks) == 0 || blocks[len(blocks)-1].mark == markOutput) {
				return nil, fmt.Errorf("line %d: an output block must follow a command block", i+1)
			}
			blocks = append(blocks, b)
			mark, i = "", end
		case line != "" && mark != "":
			return nil, fmt.Errorf("line %d: the marker of line %d is not followed by a fenced block", i+1, markLine)
		}
	}
	if mark != "" {
		return nil, fmt.Errorf("line %d: the marker is not followed by a fenced block", markLine)
	}
	return blocks, nil
}

// fencedBlock reads the fenced block opening at lines[start], marked
// with mark, and returns it and the line index of its closing fence.
func fencedBlock(lines []string, start int, mark string) (tutorialBlock, int, error) {
	info := strings.TrimSpace(strings.TrimPrefix(strings.TrimRight(lines[start], " \t\r"), "```"))
	want := "sh"
	if mark == markOutput {
		want = "text"
	}
	switch {
	case mark == "":
		return tutorialBlock{}, 0, fmt.Errorf("line %d: a fenced block without a marker: mark it %s (or %s after a command block), so the test runs it", start+1, markRun, markOutput)
	case info != want:
		return tutorialBlock{}, 0, fmt.Errorf("line %d: a block marked %s must be ```%s, not ```%s", start+1, mark, want, info)
	}
	var text strings.Builder
	for j := start + 1; j < len(lines); j++ {
		if strings.TrimRight(lines[j], " \t\r") == "```" {
			return tutorialBlock{line: start + 1, mark: mark, text: text.String()}, j, nil
		}
		text.WriteString(lines[j] + "\n")
	}
	return tutorialBlock{}, 0, fmt.Errorf("line %d: the fenced block is not closed", start+1)
}

// matchOutput checks that every non-blank line of want matches a line of
// got, in order (got may hold more lines between them). A want line
// matches a whole got line, with "…" standing for any text.
func matchOutput(want, got string) error {
	gotLines := strings.Split(got, "\n")
	next := 0
	for _, w := range strings.Split(want, "\n") {
		if strings.TrimSpace(w) == "" {
			continue
		}
		parts := strings.Split(w, "…")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		re := regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
		found := false
		for next < len(gotLines) {
			g := strings.TrimRight(gotLines[next], " \r")
			next++
			if re.MatchString(g) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("no line matching %q (in order) in the output", w)
		}
	}
	return nil
}

func TestTutorialParse(t *testing.T) {
	good := "text\n\n" + markRun + "\n```sh\necho hi\n```\n\n" + markOutput + "\n```text\nhi\n```\n" + markFails + "\n```sh\nfalse\n```\n"
	blocks, err := parseTutorial(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 3 || blocks[0].text != "echo hi\n" || blocks[1].mark != markOutput || blocks[1].text != "hi\n" || blocks[2].mark != markFails || blocks[0].line != 4 {
		t.Errorf("parsed %+v", blocks)
	}
	for name, bad := range map[string]string{
		"unmarked block":         "```sh\necho hi\n```\n",
		"unmarked output":        markRun + "\n```sh\necho\n```\n```text\nx\n```\n",
		"output first":           markOutput + "\n```text\nhi\n```\n",
		"two outputs":            markRun + "\n```sh\necho\n```\n" + markOutput + "\n```text\n\n```\n" + markOutput + "\n```text\n\n```\n",
		"wrong language":         markRun + "\n```bash\necho\n```\n",
		"output as sh":           markRun + "\n```sh\necho\n```\n" + markOutput + "\n```sh\nx\n```\n",
		"marker, then prose":     markRun + "\nsome prose\n```sh\necho\n```\n",
		"unknown marker":         "<!-- tutorial: skip -->\n```sh\necho\n```\n",
		"marker without block":   "text\n" + markRun + "\n",
		"unclosed block":         markRun + "\n```sh\necho\n",
		"two markers, one block": markRun + "\n" + markFails + "\n```sh\necho\n```\n",
	} {
		if _, err := parseTutorial(bad); err == nil {
			t.Errorf("%s: parsed without an error", name)
		}
	}

	out := "engine: x\nloaded sha256:abc as t/h in 2.7s: 2 layers sent (21.0 KiB), 2 already\nok\n"
	for want, ok := range map[string]bool{
		"loaded sha256:… as t/h in …: 2 layers sent (… KiB), 2 already\nok": true,
		"engine: x\n\nok\n":                  true,
		"ok\nengine: x":                      false, // out of order
		"loaded sha256:… 3 layers sent …":    false,
		"2 layers sent":                      false, // whole lines only
		"loaded sha256:… (… MiB), 2 already": false,
		"":                                   true,
	} {
		if err := matchOutput(want, out); (err == nil) != ok {
			t.Errorf("matchOutput(%q) = %v, want a match: %v", want, err, ok)
		}
	}
}

// tutorialClaims are outputs the tutorial's text relies on: each must be
// one of its output blocks' lines, so that an edit cannot make the text
// claim one thing while the block shows another.
var tutorialClaims = []string{
	"Hello from nix-docker",
	"loaded sha256:… as tutorial/hello in …: 1 layer sent (… KiB), 2 already in the engine; via the partial docker-archive in …",
	"Hello again from nix-docker",
	"typo.hcl:4:12: error: Incorrect value type",
	"pushed sha256:… as 127.0.0.1:5000/tutorial/hello:v2@sha256:… in …: 1 layer uploaded (… KiB), 0 mounted from another repository, 3 already in the registry",
	"Hello from git push",
}

// TestTutorial runs docs/tutorial.md: every marked command block in
// order, in one HOME of its own, with the freshly built nix-docker, and
// compares every output block with what the commands before it printed.
func TestTutorial(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	testutil.NeedRegistry(t)
	testutil.NeedCommand(t, "git", "curl", "tar", "nix-prefetch-url")
	md, err := os.ReadFile(repo(t, "docs", "tutorial.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseTutorial(string(md))
	if err != nil {
		t.Fatalf("docs/tutorial.md: %v", err)
	}
	checkClaims(t, blocks)

	// The tutorial's names and host ports, made unique.
	name := unique("hello")
	ports := map[string]string{"8080": freePort(t), "8081": freePort(t), "6380": freePort(t), "5000": freePort(t)}
	subst := []string{"hello", name}
	for p, free := range ports {
		subst = append(subst, p, free)
	}
	for i := 0; i < len(subst); i += 2 {
		if !strings.Contains(string(md), subst[i]) {
			t.Fatalf("docs/tutorial.md no longer uses %q: update the test's substitutions", subst[i])
		}
	}
	replacer := strings.NewReplacer(subst...)

	home := setUpTutorialHome(t)
	t.Cleanup(func() { cleanUpTutorial(t, home, name, ports["5000"]) })

	env := tutorialEnv(home)
	cwd, state := home, t.TempDir()
	var out string
	for _, b := range blocks {
		text := replacer.Replace(b.text)
		if b.mark == markOutput {
			if err := matchOutput(text, out); err != nil {
				t.Fatalf("docs/tutorial.md:%d: the output shown is not what the commands printed: %v\n--- shown:\n%s--- printed:\n%s", b.line, err, text, out)
			}
			continue
		}
		var code int
		out, code, env, cwd = runTutorialBlock(t, state, text, env, cwd)
		t.Logf("docs/tutorial.md:%d: exit %d\n%s", b.line, code, out)
		switch {
		case b.mark == markFails && code == 0:
			t.Fatalf("docs/tutorial.md:%d: the block succeeded; the tutorial says it fails", b.line)
		case b.mark != markFails && code != 0:
			t.Fatalf("docs/tutorial.md:%d: the block failed with exit %d:\n%s", b.line, code, out)
		case b.mark == markSilent && out != "":
			t.Fatalf("docs/tutorial.md:%d: the block printed %q; the tutorial says it prints nothing", b.line, out)
		}
	}

	// The tutorial's clean-up left nothing of it behind.
	if left := must(t, "docker", "ps", "-aq", "--filter", "name="+name); left != "" {
		t.Errorf("containers left after the tutorial: %s", left)
	}
	if left := must(t, "docker", "images", "-q", "--filter", "reference=tutorial/"+name, "--filter", "reference="+name); left != "" {
		t.Errorf("images left after the tutorial: %s", left)
	}
	if _, err := os.Stat(filepath.Join(home, name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the tutorial's directory is still there (%v)", err)
	}
}

// checkClaims fails the test when a claim is not an output line of the
// tutorial.
func checkClaims(t *testing.T, blocks []tutorialBlock) {
	t.Helper()
	shown := map[string]bool{}
	for _, b := range blocks {
		if b.mark == markOutput {
			for _, l := range strings.Split(b.text, "\n") {
				shown[l] = true
			}
		}
	}
	for _, c := range tutorialClaims {
		if !shown[c] {
			t.Errorf("docs/tutorial.md shows no output line %q, which its text relies on", c)
		}
	}
}

// setUpTutorialHome makes the reader's home: ~/nix-docker a "clone" whose
// bin/ holds the freshly built binaries and whose testdata/ is the
// repository's, and a git identity.
func setUpTutorialHome(t *testing.T) string {
	t.Helper()
	bin := nixDocker(t)
	home := t.TempDir()
	clone := filepath.Join(home, "nix-docker")
	if err := os.MkdirAll(filepath.Join(clone, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{
		bin:                                      filepath.Join(clone, "bin", "nix-docker"),
		filepath.Join(binDir, "nix-docker-init"): filepath.Join(clone, "bin", "nix-docker-init"),
		repo(t, "testdata"):                      filepath.Join(clone, "testdata"),
	} {
		if err := os.Symlink(src, dst); err != nil {
			t.Fatal(err)
		}
	}
	gitconfig := "[user]\n\tname = Tutorial Reader\n\temail = reader@example.org\n"
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return home
}

// tutorialEnv is the reader's environment: this one, with HOME the
// tutorial's and no NIX_PATH (the tutorial sets it).
func tutorialEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "NIX_PATH", "DOCKER_CONFIG", "GIT_DIR", "GIT_WORK_TREE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home)
}

// runTutorialBlock runs one block with bash -euo pipefail in cwd with
// env, and returns its output (stdout and stderr, interleaved), its exit
// code, and the environment and directory it ended in, for the next
// block (as if the reader typed them into one shell; unexported shell
// variables do not carry over).
func runTutorialBlock(t *testing.T, state, text string, env []string, cwd string) (string, int, []string, string) {
	t.Helper()
	cwdFile, envFile := filepath.Join(state, "cwd"), filepath.Join(state, "env")
	os.Remove(cwdFile)
	os.Remove(envFile)
	script := filepath.Join(state, "block.sh")
	body := fmt.Sprintf("trap 'pwd > %s; env -0 > %s' EXIT\n%s", shellQuoteTest(cwdFile), shellQuoteTest(envFile), text)
	if err := os.WriteFile(script, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", script)
	cmd.Dir, cmd.Env = cwd, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so that a block that runs too long is
	// stopped with everything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("the block did not finish within 3 minutes:\n%s\n--- output:\n%s", text, out.String())
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running the block: %v", err)
	}
	if b, err := os.ReadFile(cwdFile); err == nil {
		cwd = strings.TrimSuffix(string(b), "\n")
	}
	if b, err := os.ReadFile(envFile); err == nil {
		env = nil
		for _, kv := range strings.Split(string(b), "\x00") {
			if kv != "" && !strings.HasPrefix(kv, "_=") {
				env = append(env, kv)
			}
		}
	}
	return out.String(), code, env, cwd
}

// shellQuoteTest quotes s for sh.
func shellQuoteTest(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// cleanUpTutorial removes what the tutorial may have left when it
// stopped early: its containers, images, deployment and registry.
func cleanUpTutorial(t *testing.T, home, name, registryPort string) {
	if b, err := os.ReadFile(filepath.Join(home, "registry", "pid")); err == nil {
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && bytes.Contains(cmdline, []byte("docker-registry")) {
			syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	run(t, "docker", "rm", "-f", name)
	removeDeployment(t, name)
	run(t, nixDocker(t), "prune", "tutorial/"+name)
	for _, ref := range []string{"tutorial/" + name, "127.0.0.1:" + registryPort + "/tutorial/" + name} {
		for _, tag := range strings.Fields(run(t, "docker", "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference="+ref).stdout) {
			run(t, "docker", "rmi", tag)
		}
	}
}
