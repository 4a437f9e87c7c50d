package initsrc_test

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/nix-docker/nix-docker/internal/initsrc"
	"github.com/nix-docker/nix-docker/internal/testutil"
)

// TestFilesAreTheTree: the carried source is exactly the tree's non-test
// Go files of every package of this module the init imports (as go list
// sees them, transitively), byte for byte, plus go.mod. A package added
// to the init's imports that the embed patterns miss fails here.
func TestFilesAreTheTree(t *testing.T) {
	root := testutil.RepoRoot(t)
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", "./init")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./init: %v", err)
	}
	want := map[string][]byte{"go.mod": []byte(initsrc.GoMod)}
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("the init imports %s, outside this module", dir)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
				b, err := os.ReadFile(filepath.Join(dir, n))
				if err != nil {
					t.Fatal(err)
				}
				want[filepath.ToSlash(filepath.Join(rel, n))] = b
			}
		}
	}
	got, err := initsrc.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 10 {
		t.Fatalf("found only %d files of the init in the tree: %v", len(want), keys(want))
	}
	for p, b := range want {
		if g, ok := got[p]; !ok {
			t.Errorf("%s is not carried: add its directory to the go:embed patterns in initsource.go", p)
		} else if !bytes.Equal(g, b) {
			t.Errorf("carried %s differs from the tree's", p)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is carried but is not part of the init", p)
		}
	}
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestGoMod: the carried module has the main module's path (so the
// init's imports stay as they are), no requirements, and a go line no
// newer than the main module's.
func TestGoMod(t *testing.T) {
	main, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(main), "module "+initsrc.Module+"\n") {
		t.Errorf("go.mod's module is not %s", initsrc.Module)
	}
	if strings.Contains(initsrc.GoMod, "require") || strings.Contains(initsrc.GoMod, "toolchain") {
		t.Errorf("the carried go.mod needs nothing: %q", initsrc.GoMod)
	}
}

// TestWrite: the source lands in a directory named by its hash; a second
// Write keeps it; a changed, added or removed file is put right.
func TestWrite(t *testing.T) {
	base := t.TempDir()
	dir, err := initsrc.Write(base)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := initsrc.Files()
	if filepath.Dir(dir) != base || filepath.Base(dir) != initsrc.Hash(files)[:32] {
		t.Fatalf("Write put the source in %s, want %s/<hash>", dir, base)
	}
	checkDir(t, dir, files)
	marker := filepath.Join(dir, "init", "main.go")
	st, _ := os.Stat(marker)
	if again, err := initsrc.Write(base); err != nil || again != dir {
		t.Fatalf("second Write = %s, %v; want %s", again, err, dir)
	}
	if st2, _ := os.Stat(marker); !os.SameFile(st, st2) {
		t.Error("a second Write rewrote an intact directory")
	}
	for name, damage := range map[string]func(){
		"edited":  func() { os.WriteFile(marker, []byte("package main\n"), 0o644) },
		"added":   func() { os.WriteFile(filepath.Join(dir, "init", "extra.go"), []byte("package main\n"), 0o644) },
		"removed": func() { os.Remove(filepath.Join(dir, "go.mod")) },
	} {
		damage()
		if again, err := initsrc.Write(base); err != nil || again != dir {
			t.Fatalf("Write after a file was %s = %s, %v", name, again, err)
		}
		checkDir(t, dir, files)
	}
	entries, _ := os.ReadDir(base)
	if len(entries) != 1 {
		t.Errorf("%s holds %d entries after Write, want the one directory (no temporary left)", base, len(entries))
	}
}

// TestWriteConcurrently: builds running at once all get the same,
// complete directory.
func TestWriteConcurrently(t *testing.T) {
	base := t.TempDir()
	files, _ := initsrc.Files()
	var wg sync.WaitGroup
	dirs := make([]string, 8)
	errs := make([]error, 8)
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], errs[i] = initsrc.Write(base)
		}()
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Fatalf("Write %d = %s, %v; want %s", i, dirs[i], errs[i], dirs[0])
		}
	}
	checkDir(t, dirs[0], files)
}

func checkDir(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, _ := os.ReadFile(p)
		if want, ok := files[filepath.ToSlash(rel)]; !ok || !bytes.Equal(b, want) {
			t.Errorf("%s: not the carried file", rel)
		}
		n++
		return nil
	})
	if n != len(files) {
		t.Errorf("%s holds %d files, want %d", dir, n, len(files))
	}
}

// TestCarriedModuleBuilds builds the written source as the Nix derivation
// does (offline, no toolchain switch, read-only module, no cgo) and vets
// it: go vet's stdversion check fails on any standard library call newer
// than the go line, so nixpkgs' older Go builds it too. The binary is
// static.
func TestCarriedModuleBuilds(t *testing.T) {
	base := t.TempDir()
	dir, err := initsrc.Write(base)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "nix-docker-init")
	env := append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOPROXY=off", "GOSUMDB=off",
		"GOTOOLCHAIN=local", "GOWORK=off", "GO111MODULE=on")
	for _, args := range [][]string{
		{"vet", "./..."},
		{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", bin, initsrc.Package},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in the carried module: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the init is dynamically linked (%v)", p.Type)
		}
	}
}
