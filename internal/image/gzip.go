package image

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"
	"runtime"
	"sync"
)

// gzipBlock is how much of a layer's tar is compressed as one piece. The
// pieces are compressed in parallel, each from an empty dictionary, and
// joined into one gzip stream; the bytes depend on the input, the level
// and this size only, never on how many CPUs did the work.
const gzipBlock = 1 << 20

// gzipHeader is a gzip member header with no name, no time, no flags:
// deflate, MTIME 0, XFL 0, OS "unknown".
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// compressing bounds the blocks being compressed at once, across every
// stream of the process.
var compressing = make(chan struct{}, runtime.NumCPU())

var flaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, GzipLevel)
	return w
}}

// writeGzip compresses r into w as one gzip stream: each gzipBlock of the
// input is deflated on its own (ending byte-aligned, with a sync flush),
// then an empty final block ends the deflate stream, then the CRC-32 and
// size. Blocks are compressed in parallel and written in order.
func writeGzip(w io.Writer, r io.Reader) error {
	if _, err := w.Write(gzipHeader); err != nil {
		return err
	}
	type piece struct {
		out  *bytes.Buffer
		done chan struct{}
	}
	queue := make(chan *piece, runtime.NumCPU()+1)
	readErr := make(chan error, 1)
	quit := make(chan struct{}) // closed when w fails: stop reading
	crc := crc32.NewIEEE()
	var size uint32
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, gzipBlock)
			n, err := io.ReadFull(r, buf)
			if n > 0 {
				crc.Write(buf[:n])
				size += uint32(n)
				p := &piece{out: new(bytes.Buffer), done: make(chan struct{})}
				select {
				case queue <- p:
				case <-quit:
					readErr <- nil
					return
				}
				go deflateBlock(p.out, buf[:n], p.done)
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				readErr <- nil
				return
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	var werr error
	for p := range queue {
		<-p.done
		if werr == nil {
			if _, werr = w.Write(p.out.Bytes()); werr != nil {
				close(quit)
			}
		}
	}
	if err := <-readErr; err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	// The final block: empty, fixed Huffman codes, BFINAL set.
	trailer := []byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(trailer[2:], crc.Sum32())
	binary.LittleEndian.PutUint32(trailer[6:], size)
	_, err := w.Write(trailer)
	return err
}

// deflateBlock deflates in into out, ending with a sync flush (so the
// next block starts on a byte boundary), and closes done.
func deflateBlock(out *bytes.Buffer, in []byte, done chan struct{}) {
	compressing <- struct{}{}
	defer func() { <-compressing; close(done) }()
	fw := flaters.Get().(*flate.Writer)
	defer flaters.Put(fw)
	fw.Reset(out)
	fw.Write(in) // writes to a bytes.Buffer do not fail
	fw.Flush()
}
