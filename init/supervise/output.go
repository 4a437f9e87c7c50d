package supervise

import (
	"bufio"
	"io"
	"sync"
)

// MaxLine is the longest line written with one prefix; a longer line is
// cut into pieces of this size, each with its own prefix.
const MaxLine = 4 << 20

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
	buf := make([]byte, 0, len(prefix)+len(line)+1)
	buf = append(buf, prefix...)
	buf = append(buf, line...)
	buf = append(buf, '\n')
	o.mu.Lock()
	o.w.Write(buf)
	o.mu.Unlock()
}

// copyLines reads r to its end and writes each line to out with prefix.
// A last line without a newline is written with one.
func copyLines(out *Output, prefix string, r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	for {
		frag, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			frag = frag[:len(frag)-1]
			if long != nil {
				long = append(long, frag...)
				out.Line(prefix, long)
				long = nil
			} else {
				out.Line(prefix, frag)
			}
			continue
		case err == bufio.ErrBufferFull:
			long = append(long, frag...)
			if len(long) >= MaxLine {
				out.Line(prefix, long[:MaxLine])
				long = append([]byte(nil), long[MaxLine:]...)
			}
			continue
		}
		// EOF or a read error: flush what is left.
		long = append(long, frag...)
		if len(long) > 0 {
			out.Line(prefix, long)
		}
		return
	}
}
