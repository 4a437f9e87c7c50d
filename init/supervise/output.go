package supervise

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// MaxLine is the longest line written with one prefix; a longer line is
// cut into pieces of this size, each with its own prefix.
const MaxLine = 4 << 20

// readChunk is how much a service's pipe is read at once: the lines
// complete in one chunk go out in one write.
const readChunk = 64 << 10

// drainLimit bounds what is read from a pipe once it is being closed, so
// that a process left behind that keeps writing cannot hold the reader.
const drainLimit = 1 << 20

// Output serialises whole lines onto one writer, so that lines from
// different services never mix.
type Output struct {
	mu sync.Mutex
	w  io.Writer
}

// NewOutput returns an Output that writes to w.
func NewOutput(w io.Writer) *Output { return &Output{w: w} }

// Line writes prefix, line and a newline in a single Write.
func (o *Output) Line(prefix string, line []byte) {
	o.write(appendLine(make([]byte, 0, len(prefix)+len(line)+1), prefix, line))
}

// write writes whole lines in a single Write.
func (o *Output) write(lines []byte) {
	o.mu.Lock()
	o.w.Write(lines)
	o.mu.Unlock()
}

// appendCut appends line in pieces of at most MaxLine bytes.
func appendCut(b []byte, prefix string, line []byte) []byte {
	for len(line) > MaxLine {
		b = appendLine(b, prefix, line[:MaxLine])
		line = line[MaxLine:]
	}
	return appendLine(b, prefix, line)
}

func appendLine(b []byte, prefix string, line []byte) []byte {
	b = append(b, prefix...)
	b = append(b, line...)
	return append(b, '\n')
}

// copyLines reads r to its end and writes each line to out with prefix:
// the complete lines of each read in one write. A last line without a
// newline is written with one.
func copyLines(out *Output, prefix string, r io.Reader) {
	chunk, batch := chunks.Get().(*[]byte), batches.Get().(*[]byte)
	defer func() {
		chunks.Put(chunk)
		if cap(*batch) <= 4*readChunk {
			batches.Put(batch)
		}
	}()
	copyLinesWith(out, prefix, r, *chunk, batch)
}

// chunks and batches hold the read and write buffers of copyLines, so
// that a service restarted over and over does not make garbage. A batch
// grows to what a service writes at once.
var (
	chunks  = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}
	batches = sync.Pool{New: func() any { return new([]byte) }}
)

func copyLinesWith(out *Output, prefix string, r io.Reader, chunk []byte, batchp *[]byte) {
	batch := (*batchp)[:0]
	defer func() { *batchp = batch }()
	var pending []byte // a line's start
	for {
		n, err := r.Read(chunk)
		data := chunk[:n]
		batch = batch[:0]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				pending = append(pending, data...)
				break
			}
			if len(pending) > 0 {
				pending = append(pending, data[:i]...)
				batch = appendCut(batch, prefix, pending)
				pending = pending[:0]
			} else {
				batch = appendCut(batch, prefix, data[:i])
			}
			data = data[i+1:]
		}
		for len(pending) > MaxLine {
			batch = appendLine(batch, prefix, pending[:MaxLine])
			pending = append(pending[:0], pending[MaxLine:]...)
		}
		if err != nil && len(pending) > 0 {
			batch = appendLine(batch, prefix, pending)
		}
		if len(batch) > 0 {
			out.write(batch)
		}
		if err != nil {
			return
		}
		// Do not keep a long line's buffers for the life of the reader.
		if cap(batch) > 4*readChunk {
			batch = nil
		}
		if len(pending) == 0 && cap(pending) > 4*readChunk {
			pending = nil
		}
	}
}

// pipes are the read ends of one process's stdout and stderr, each copied
// to the container's by its own goroutine.
type pipes struct {
	files [2]*os.File
}

// openPipes makes a process's stdout and stderr pipes and starts copying
// their read ends; the caller passes the write ends to the child and
// closes them.
func (s *Supervisor) openPipes(prefix string) (*pipes, [2]*os.File, error) {
	var p pipes
	var w [2]*os.File
	for i, out := range []*Output{s.opts.Stdout, s.opts.Stderr} {
		r, wr, err := os.Pipe()
		if err != nil {
			for j := range i {
				p.files[j].Close()
				w[j].Close()
			}
			return nil, w, err
		}
		p.files[i], w[i] = r, wr
		s.copiers.Add(1)
		s.readers.Add(1)
		go func() {
			defer s.copiers.Done()
			defer s.readers.Add(-1)
			copyLines(out, prefix, &drainReader{f: r})
			r.Close()
		}()
	}
	return &p, w, nil
}

// drain ends the readers after d: they then read what the pipes hold,
// without waiting for more, and close them, whoever still holds the write
// ends.
func (p *pipes) drain(d time.Duration) {
	cut := func() {
		for _, f := range p.files {
			f.SetReadDeadline(time.Now())
		}
	}
	if d <= 0 {
		cut()
		return
	}
	time.AfterFunc(d, cut)
}

// drainReader reads a pipe until its end or its read deadline; after the
// deadline it reads, without blocking, what the pipe still holds (at most
// drainLimit) and then ends.
type drainReader struct {
	f        *os.File
	draining bool
	budget   int
}

func (d *drainReader) Read(b []byte) (int, error) {
	if !d.draining {
		n, err := d.f.Read(b)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		d.draining, d.budget = true, drainLimit
		if n > 0 {
			return n, nil
		}
	}
	if d.budget <= 0 {
		return 0, io.EOF
	}
	rc, err := d.f.SyscallConn()
	if err != nil {
		return 0, io.EOF
	}
	n := 0
	var rerr error
	rc.Control(func(fd uintptr) {
		for {
			// The descriptor is non-blocking: EAGAIN once the pipe is empty.
			n, rerr = syscall.Read(int(fd), b[:min(len(b), d.budget)])
			if rerr != syscall.EINTR {
				return
			}
		}
	})
	if rerr != nil || n <= 0 {
		return 0, io.EOF
	}
	d.budget -= n
	return n, nil
}
