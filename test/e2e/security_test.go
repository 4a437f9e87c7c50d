package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// TestOutputSpecialFiles: -o writes a character device or a FIFO in
// place and never replaces it; a symbolic link is refused. The build
// that writes to /dev/null runs in a private mount namespace where
// /dev/null is a device node made in the test's directory: even a broken
// build could not touch the machine's /dev/null (renaming over a mount
// point fails).
func TestOutputSpecialFiles(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedRoot(t)
	testutil.NeedCommand(t, "unshare", "mount", "skopeo")
	dir := t.TempDir()
	file := filepath.Join(dir, "app.hcl")
	if err := os.WriteFile(file, []byte("module \"redis\" {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := nixDocker(t)

	t.Run("dev-null", func(t *testing.T) {
		null := filepath.Join(dir, "null")
		if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
			t.Fatal(err)
		}
		script := fmt.Sprintf("mount --bind %q /dev/null && %q -q -b -I %q -o /dev/null %q && stat -c %%F:%%t,%%T /dev/null",
			null, bin, nixpkgsArg(t), file)
		r := run(t, "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
		if r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), "character special file:1,3") {
			t.Fatalf("nix-docker -o /dev/null: exit %d\n%s%s\nwant /dev/null still the character device 1,3", r.code, r.stdout, r.stderr)
		}
		if st, err := os.Lstat("/dev/null"); err != nil || st.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("the machine's /dev/null is %v (%v)", st.Mode(), err)
		}
	})

	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(dir, "pipe")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		got := filepath.Join(dir, "from-fifo.tar")
		reader := exec.Command("sh", "-c", fmt.Sprintf("cat %q > %q", fifo, got))
		if err := reader.Start(); err != nil {
			t.Fatal(err)
		}
		r := buildOK(t, nil, "-q", "-b", "-o", fifo, file)
		if err := reader.Wait(); err != nil {
			t.Fatalf("the reader: %v", err)
		}
		if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("-o FIFO left %v (%v), want the FIFO", st.Mode(), err)
		}
		out := must(t, "skopeo", "inspect", "--format", "{{.Digest}} {{len .Layers}}", "docker-archive:"+got)
		if !strings.HasPrefix(out, "sha256:") || strings.TrimSpace(r.stdout) == "" {
			t.Errorf("the reader's archive: skopeo says %q, nix-docker printed %q", out, r.stdout)
		}
	})

	t.Run("symlink", func(t *testing.T) {
		target := filepath.Join(dir, "target")
		os.WriteFile(target, []byte("keep"), 0o644)
		link := filepath.Join(dir, "link.tar")
		os.Symlink(target, link)
		r := run(t, bin, "-q", "-b", "-I", nixpkgsArg(t), "-o", link, file)
		if r.code != 1 || !strings.Contains(r.stderr, "symbolic link") {
			t.Errorf("-o onto a link: exit %d\n%s\nwant 1 and a message about the link", r.code, r.stderr)
		}
		if b, _ := os.ReadFile(target); string(b) != "keep" {
			t.Errorf("the link's target holds %q", b)
		}
		if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link is now %v (%v)", st.Mode(), err)
		}
	})
}

// TestValuesEndToEnd builds and runs modules given values that broke
// generated files before they were quoted: quotes, spaces and a $( in a
// Redis data directory, quotes in httpd's ServerAdmin, two nginx server
// names. The build's checks (httpd -t, nginx -t in the Nix sandbox) pass,
// and Redis reports the exact directory; a value that would add a
// directive is refused with its position.
func TestValuesEndToEnd(t *testing.T) {
	dir := t.TempDir()
	must(t, "mkdir", "-p", filepath.Join(dir, "www"))
	os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte("quoted\n"), 0o644)
	dataDir := `/var/lib/my "redis" $(id) 'x'`
	app := fmt.Sprintf(`module "cache" {
  source   = "redis"
  data_dir = %q
}
module "web" {
  source        = "httpd"
  document_root = path("www")
  admin_addr    = "web\"master@example.com"
}
module "proxy" {
  source      = "nginx"
  port        = 8081
  root        = path("www")
  server_name = "a.example b.example"
}
`, dataDir)
	file := filepath.Join(dir, "app.hcl")
	os.WriteFile(file, []byte(app), 0o644)
	tag := buildFile(t, file, "values")
	_, ports := startContainer(t, tag, "6379", "80", "8081")
	addr := "127.0.0.1:" + ports["6379"]
	deadline := time.Now().Add(60 * time.Second)
	for !redisAnswers(addr) {
		if time.Now().After(deadline) {
			t.Fatal("redis never answered PING")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got, want := redisCommand(t, addr, "CONFIG GET dir"), fmt.Sprintf("$%d\r\n%s", len(dataDir), dataDir); !strings.Contains(got, want) {
		t.Errorf("redis' dir = %q, want %q", got, dataDir)
	}
	for _, p := range []string{"80", "8081"} {
		url := "http://127.0.0.1:" + ports[p] + "/"
		if code, body := httpGet(t, url, 60*time.Second); code != 200 || body != "quoted\n" {
			t.Errorf("GET %s = %d %q", url, code, body)
		}
	}

	bad := filepath.Join(dir, "bad.hcl")
	os.WriteFile(bad, []byte("module \"cache\" {\n  source = \"redis\"\n  bind   = \"0.0.0.0\\nrequirepass x\"\n}\n"), 0o644)
	r := run(t, nixDocker(t), "check", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "bad.hcl:3:") || !strings.Contains(r.stderr, "Invalid option value") {
		t.Errorf("check with bind holding a newline: exit %d\n%s\nwant 1 and an error at line 3", r.code, r.stderr)
	}
}

// TestFromLabelLies: a base image whose store-paths label promises a
// path its layers lack (here Redis, which the app needs) fails the build
// with a message naming it; no tag is made. The check looks the path up
// in a container of the base, created and removed, never started.
func TestFromLabelLies(t *testing.T) {
	testutil.NeedNix(t)
	testutil.NeedDocker(t)
	dir := t.TempDir()
	baseFile := filepath.Join(dir, "base.hcl")
	os.WriteFile(baseFile, []byte("service \"idle\" {\n  command = \"${pkgs.busybox}/bin/sleep 1000\"\n}\n"), 0o644)
	base := unique("nix-docker-e2e/truthful") + ":test"
	buildOK(t, nil, "-q", "-b", "-t", base, baseFile)
	removeImages(t, base)
	redis := must(t, "nix-build", "--no-out-link", "-I", nixpkgsArg(t), "<nixpkgs>", "-A", "redis")
	label := inspectImage(t, base).Config.Labels["org.nix-docker.store-paths"] + "\n" + redis
	ctr := unique("nix-docker-e2e-liar")
	must(t, "docker", "create", "--name", ctr, base)
	lie := unique("nix-docker-e2e/liar") + ":test"
	must(t, "docker", "commit", "--change", `LABEL org.nix-docker.store-paths="`+strings.ReplaceAll(label, "\n", " ")+`"`, ctr, lie)
	run(t, "docker", "rm", "-f", ctr)
	removeImages(t, lie)

	appFile := filepath.Join(dir, "app.hcl")
	os.WriteFile(appFile, []byte("module \"redis\" {}\n"), 0o644)
	tag := unique("nix-docker-e2e/onliar") + ":test"
	r := run(t, nixDocker(t), "-b", "-I", nixpkgsArg(t), "-t", tag, "--from", lie, appFile)
	if r.code != 1 || !strings.Contains(r.stderr, redis) || !strings.Contains(r.stderr, "label") {
		t.Errorf("--from a lying base: exit %d\n%s\nwant 1 and a message naming %s", r.code, r.stderr, redis)
	}
	if run(t, "docker", "image", "inspect", tag).code == 0 {
		run(t, "docker", "rmi", "-f", tag)
		t.Errorf("the failed build made the tag %s", tag)
	}
	if out := must(t, "docker", "ps", "-a", "-q", "--filter", "ancestor="+lie); out != "" {
		t.Errorf("the check left containers of the base: %s", out)
	}
}
