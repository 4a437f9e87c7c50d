package image

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand"
	"runtime"
	"testing"
)

// TestWriteGzip: the stream is one gzip member that decompresses to the
// input, whatever its size, and its bytes do not depend on how many CPUs
// compressed it.
func TestWriteGzip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	sizes := []int{0, 1, 1000, gzipBlock - 1, gzipBlock, gzipBlock + 1, 3*gzipBlock + gzipBlock/2}
	if raceDetector {
		// Still more than one block, so pieces compress at once.
		sizes = []int{0, 1000, 2*gzipBlock + 1}
	}
	for _, n := range sizes {
		in := make([]byte, n)
		for i := range in {
			in[i] = "abcdefgh"[rng.Intn(8)] // compressible, not trivially
		}
		var out bytes.Buffer
		if err := writeGzip(&out, bytes.NewReader(in)); err != nil {
			t.Fatal(err)
		}
		src := bytes.NewReader(out.Bytes())
		zr, err := gzip.NewReader(src)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		zr.Multistream(false)
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, in) {
			t.Fatalf("%d bytes: decompressed %d bytes, %v", n, len(got), err)
		}
		if src.Len() != 0 {
			t.Fatalf("%d bytes: %d bytes after the gzip member", n, src.Len())
		}
		prev := runtime.GOMAXPROCS(1)
		var one bytes.Buffer
		err = writeGzip(&one, bytes.NewReader(in))
		runtime.GOMAXPROCS(prev)
		if err != nil || !bytes.Equal(one.Bytes(), out.Bytes()) {
			t.Errorf("%d bytes: the stream differs with one CPU", n)
		}
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, io.ErrClosedPipe
	}
	return len(p), nil
}

// TestWriteGzipFails: a failing writer stops the compression with its
// error.
func TestWriteGzipFails(t *testing.T) {
	in := bytes.Repeat([]byte("x"), 8*gzipBlock)
	if err := writeGzip(&failWriter{n: 100}, bytes.NewReader(in)); err != io.ErrClosedPipe {
		t.Errorf("writeGzip into a failing writer: %v", err)
	}
}
