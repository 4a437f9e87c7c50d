// Command pushproxy runs Debian's docker-registry (the distribution
// registry) on 127.0.0.1 with its storage in DIR, and a reverse proxy in
// front of it that counts what clients upload, for bench/push.sh. It
// prints the proxy's address (HOST:PORT) on stdout and serves until it
// gets SIGTERM or SIGINT, then stops the registry. GET /_counts on the proxy answers
// "UPLOADS BYTES MOUNTS": blobs uploaded (uploads committed with 201),
// bytes of upload request bodies, blobs mounted from another repository.
//
// usage: pushproxy DIR
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

var uploads, bytes, mounts atomic.Int64

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: pushproxy DIR")
	}
	dir := os.Args[1]
	regAddr := freeAddr()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n  secret: bench\n", filepath.Join(dir, "data"), regAddr)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o644); err != nil {
		log.Fatal(err)
	}
	reg := exec.Command("docker-registry", "serve", filepath.Join(dir, "config.yml"))
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		log.Fatal(err)
	}
	reg.Stdout, reg.Stderr = logf, logf
	if err := reg.Start(); err != nil {
		log.Fatal(err)
	}
	defer reg.Process.Signal(syscall.SIGTERM)
	if !up("http://" + regAddr + "/v2/") {
		reg.Process.Signal(syscall.SIGTERM)
		log.Fatalf("the registry did not answer at %s within 30 s; see %s", regAddr, logf.Name())
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	target, _ := url.Parse("http://" + regAddr)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	go http.Serve(l, handler(rp))
	fmt.Println(l.Addr().String())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
}

// handler counts uploads and mounts on their way to the registry.
func handler(rp *httputil.ReverseProxy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_counts" {
			fmt.Fprintf(w, "%d %d %d\n", uploads.Load(), bytes.Load(), mounts.Load())
			return
		}
		upload := strings.Contains(r.URL.Path, "/blobs/uploads/")
		if upload && r.Body != nil {
			r.Body = &counter{r.Body}
		}
		sw := &status{ResponseWriter: w}
		rp.ServeHTTP(sw, r)
		switch {
		case upload && r.Method == http.MethodPost && r.URL.Query().Get("mount") != "" && sw.code == http.StatusCreated:
			mounts.Add(1)
		case upload && r.Method == http.MethodPut && sw.code == http.StatusCreated:
			uploads.Add(1)
		}
	})
}

type counter struct{ io.ReadCloser }

func (c *counter) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	bytes.Add(int64(n))
	return n, err
}

type status struct {
	http.ResponseWriter
	code int
}

func (s *status) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// up waits up to 30 s for u to answer.
func up(u string) bool {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			return true
		}
	}
	return false
}
