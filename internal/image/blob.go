package image

import (
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"sync"
)

// Blob is a layer as a registry stores it: the digest and size of its
// gzip stream.
type Blob struct {
	Digest string `json:"digest"` // "sha256:<hex>" of the compressed bytes
	Size   int64  `json:"size"`   // bytes of the compressed stream
}

// GzipLevel is the compression level of every layer's gzip stream. It is
// fixed, as are the header (no name, no time) and the pieces the stream is
// compressed in (gzipBlock, in parallel), so the compressed bytes of a
// layer depend only on its tar: a layer is compressed once, its digest
// remembered, and the same bytes made again when they must be sent.
// Level 6 (gzip's default, what docker push and skopeo use) costs more
// time than level 1 once per layer version and saves about 13% of the
// bytes of every later pull.
const GzipLevel = flate.DefaultCompression

// compressor names the code that made a Blob's bytes: another Go release
// may compress the same input differently, and then a remembered digest
// no longer describes the bytes this binary sends.
var compressor = fmt.Sprintf("gzip-%d blocks-%d %s", GzipLevel, gzipBlock, runtime.Version())

// source is where a layer's bytes come from and what the build learned of
// them; shared by the copies of a Layer.
type source struct {
	open  func() (io.ReadCloser, error) // the uncompressed tar, from its origin; nil: File
	entry *entry                        // the layer cache's record of the layer; nil: none

	mu   sync.Mutex
	blob *Blob // the compressed stream's digest and size, once known
}

// Open returns the layer's uncompressed tar. The bytes are made again
// from their origin (the store, or the tar a base image was saved to)
// and checked as they are read: a reader whose bytes do not hash to
// DiffID, or do not count Size, fails at its end instead of returning
// io.EOF.
func (l Layer) Open() (io.ReadCloser, error) {
	var rc io.ReadCloser
	var err error
	switch {
	case l.src != nil && l.src.open != nil:
		rc, err = l.src.open()
	case l.File != "":
		rc, err = os.Open(l.File)
	default:
		return nil, fmt.Errorf("layer %s of the base image is not available here (only the engine holds it)", l.DiffID)
	}
	if err != nil {
		return nil, fmt.Errorf("opening layer %s: %w", l.DiffID, err)
	}
	return l.verify(rc, "layer "+l.DiffID, l.DiffID, l.Size), nil
}

// verify checks the stream rc against digest and size as it is read; on
// a mismatch the cache forgets the layer, so the next build learns it
// again.
func (l Layer) verify(rc io.ReadCloser, what, digest string, size int64) io.ReadCloser {
	v := &verifier{rc: rc, h: sha256.New(), what: what, digest: digest, size: size}
	if l.src != nil {
		v.mismatch = l.src.entry.forget
	}
	return v
}

// Compressed returns the digest and size of the layer's gzip stream. The
// first call for a layer compresses it (without keeping the bytes) unless
// the layer cache remembers it from an earlier build; the answer is kept.
func (l Layer) Compressed() (Blob, error) { return l.compressTo(io.Discard, true) }

// CompressTo writes the layer's gzip stream to w and returns its digest
// and size, remembering them when they were not known: the bytes of a
// layer compressed for its digest can be kept for sending.
func (l Layer) CompressTo(w io.Writer) (Blob, error) { return l.compressTo(w, false) }

// KnownCompressed returns the gzip stream's digest and size when they are
// known without compressing.
func (l Layer) KnownCompressed() (Blob, bool) {
	if l.src == nil {
		return Blob{}, false
	}
	l.src.mu.Lock()
	defer l.src.mu.Unlock()
	if l.src.blob == nil {
		return Blob{}, false
	}
	return *l.src.blob, true
}

// compressTo compresses the layer into w, unless its Blob is known and
// known is enough.
func (l Layer) compressTo(w io.Writer, known bool) (Blob, error) {
	s := l.src
	if s == nil {
		return l.compress(w)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blob != nil && known {
		return *s.blob, nil
	}
	b, err := l.compress(w)
	if err != nil {
		return Blob{}, err
	}
	if s.blob != nil && *s.blob != b {
		s.entry.forget()
		return Blob{}, fmt.Errorf("the compressed layer %s: the bytes made now have the digest %s, not %s (the layer cache's record of it was wrong and is dropped: build again): %w", l.DiffID, b.Digest, s.blob.Digest, ErrDigest)
	}
	if s.blob == nil {
		s.blob = &b
		s.entry.update(func(r *record) { r.Gzip, r.Compressor = &b, compressor })
	}
	return b, nil
}

// compress writes the layer's gzip stream to w, hashing it.
func (l Layer) compress(w io.Writer) (Blob, error) {
	rc, err := l.gzip()
	if err != nil {
		return Blob{}, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(h, w), rc)
	if err != nil {
		return Blob{}, err
	}
	return Blob{Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// OpenCompressed returns the layer's gzip stream, compressed as it is
// read. When the stream's digest is known, the bytes are checked against
// it as Open's are against DiffID.
func (l Layer) OpenCompressed() (io.ReadCloser, error) {
	var known *Blob
	if l.src != nil {
		l.src.mu.Lock()
		known = l.src.blob
		l.src.mu.Unlock()
	}
	rc, err := l.gzip()
	if err != nil || known == nil {
		return rc, err
	}
	return l.verify(rc, "the compressed layer "+l.DiffID, known.Digest, known.Size), nil
}

// gzip returns the layer's gzip stream, compressed as it is read.
func (l Layer) gzip() (io.ReadCloser, error) {
	rc, err := l.Open()
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		err := writeGzip(pw, rc)
		rc.Close()
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// ErrDigest is wrapped by the error of a reader whose bytes are not those
// their digest promises.
var ErrDigest = errors.New("digest mismatch")

// verifier passes a stream through, hashing it; at the end it compares
// the digest and the count with what was promised.
type verifier struct {
	rc       io.ReadCloser
	h        hash.Hash
	n        int64
	what     string
	digest   string
	size     int64
	mismatch func() // called on a mismatch; may be nil
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		got := "sha256:" + hex.EncodeToString(v.h.Sum(nil))
		var bad string
		if v.digest != "" && got != v.digest {
			bad = "have the digest " + got
		} else if v.size > 0 && v.n != v.size {
			bad = fmt.Sprintf("count %d, want %d", v.n, v.size)
		}
		if bad != "" {
			hint := ""
			if v.mismatch != nil {
				v.mismatch()
				hint = " (the layer cache's record of it was wrong and is dropped: build again)"
			}
			return n, fmt.Errorf("%s: the bytes made now %s%s: %w", v.what, bad, hint, ErrDigest)
		}
	}
	return n, err
}

func (v *verifier) Close() error { return v.rc.Close() }

// PushedTo lists the repositories (REGISTRY/PATH) the layer was pushed
// to, as the layer cache remembers, most recent first: a registry can
// mount the blob from one of them instead of receiving it again.
func (l Layer) PushedTo() []string {
	if l.src == nil || l.src.entry == nil {
		return nil
	}
	l.src.entry.mu.Lock()
	defer l.src.entry.mu.Unlock()
	return append([]string(nil), l.src.entry.rec.Repos...)
}

// Pushed remembers, in the layer cache, that the registry repository repo
// (REGISTRY/PATH) holds the layer's compressed blob.
func (l Layer) Pushed(repo string) {
	if l.src == nil {
		return
	}
	l.src.entry.update(func(r *record) {
		repos := []string{repo}
		for _, have := range r.Repos {
			if have != repo && len(repos) < maxRepos {
				repos = append(repos, have)
			}
		}
		r.Repos = repos
	})
}
