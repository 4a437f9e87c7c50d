package output

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// archiveBytes is the docker-archive of img, as -o writes it.
func archiveBytes(t *testing.T, img interface {
	WriteArchive(io.Writer, []string, func(string) bool) (int64, error)
}) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := img.WriteArchive(&b, []string{"app:v1"}, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// deliver runs one archive output through Deliver and Commit.
func deliver(t *testing.T, name string) error {
	t.Helper()
	a, err := NewArchive(name, "app:v1")
	if err != nil {
		return err
	}
	if _, err := a.Deliver(context.Background(), smallImage(t, "/x")); err != nil {
		return err
	}
	return a.Commit(context.Background())
}

// TestArchiveDevice: -o onto a character device writes into it and
// leaves it a device. The device is a null device made in the test's
// own directory (never the machine's /dev/null, which a broken build
// would replace).
func TestArchiveDevice(t *testing.T) {
	testutil.NeedRoot(t)
	null := filepath.Join(t.TempDir(), "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatalf("mknod: %v", err)
	}
	if err := deliver(t, null); err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(null)
	if err != nil || st.Mode()&fs.ModeCharDevice == 0 || st.Sys().(*syscall.Stat_t).Rdev != 1<<8|3 {
		t.Fatalf("after -o %s: %v %v, want the character device 1,3", null, st.Mode(), err)
	}
	if ents := entries(t, filepath.Dir(null)); len(ents) != 1 {
		t.Errorf("-o left %v beside the device", ents)
	}
}

// TestArchiveFIFO: -o onto a FIFO streams the archive to its reader and
// leaves it a FIFO.
func TestArchiveFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	if err := deliver(t, fifo); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("after -o: %v %v, want a FIFO", st.Mode(), err)
	}
	select {
	case b := <-got:
		if want := archiveBytes(t, smallImage(t, "/x")); !bytes.Equal(b, want) {
			t.Errorf("the reader got %d bytes, want the %d of the archive", len(b), len(want))
		}
	case <-time.After(time.Minute): // the writer closed long ago: the reader would have had EOF
		t.Fatal("the reader got nothing")
	}
}

// TestArchiveRefused: -o onto a symbolic link, a directory or a socket
// fails before anything is written, and leaves them as they were.
func TestArchiveRefused(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("keep"), 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(target, link)
	sock := filepath.Join(dir, "sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{link: "symbolic link", dir: "directory", sock: "socket"} {
		if err := deliver(t, name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("-o %s: %v, want an error: %s", name, err, want)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target now holds %q", b)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link is now %v %v", st.Mode(), err)
	}
}

// TestArchiveRaced: a FIFO that takes the place of the target between
// Deliver and Commit is not replaced, and the temporary file goes.
func TestArchiveRaced(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "image.tar")
	a, err := NewArchive(name, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Deliver(context.Background(), smallImage(t, "/x")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(name, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(context.Background()); err == nil {
		t.Fatal("Commit replaced a FIFO")
	}
	if st, _ := os.Lstat(name); st.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the target is now %v", st.Mode())
	}
	if ents := entries(t, dir); len(ents) != 1 {
		t.Errorf("left %v", ents)
	}
}
