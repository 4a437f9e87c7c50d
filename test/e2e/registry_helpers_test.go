package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// registryServer is Debian's docker-registry (the CNCF distribution
// registry) run by a test on 127.0.0.1, on a free port, with its own
// configuration and storage in a temp dir.
type registryServer struct {
	t      *testing.T
	dir    string
	addr   string // 127.0.0.1:PORT
	config string
	caFile string // the test's CA, when the registry speaks TLS
	client *http.Client
	cmd    *exec.Cmd
	exited chan struct{}
}

// registryUser and registryPassword are the htpasswd account.
const (
	registryUser     = "pusher"
	registryPassword = "s3cret-Pa55"
)

// startRegistry starts a registry: with TLS from a CA the test makes
// (the engine trusts it through /etc/docker/certs.d/ADDR/ca.crt for the
// length of the test), and with htpasswd auth, or neither.
func startRegistry(t *testing.T, secure bool) *registryServer {
	t.Helper()
	r := &registryServer{t: t, dir: t.TempDir(), addr: "127.0.0.1:" + freePort(t), client: &http.Client{Timeout: 5 * time.Second}}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: info\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n  secret: nix-docker-e2e\n",
		filepath.Join(r.dir, "data"), r.addr)
	if secure {
		r.caFile = filepath.Join(r.dir, "ca.pem")
		cert, key := filepath.Join(r.dir, "server.pem"), filepath.Join(r.dir, "server.key")
		pool := writeCerts(t, r.caFile, cert, key)
		r.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		hash, err := bcrypt.GenerateFromPassword([]byte(registryPassword), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(r.dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(registryUser+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\nauth:\n  htpasswd:\n    realm: nix-docker-e2e\n    path: %s\n", cert, key, htpasswd)
		certsD := filepath.Join("/etc/docker/certs.d", r.addr)
		if err := os.MkdirAll(certsD, 0o755); err != nil {
			t.Fatalf("making the engine trust the test's CA: %v", err)
		}
		t.Cleanup(func() { os.RemoveAll(certsD) })
		must(t, "cp", r.caFile, filepath.Join(certsD, "ca.crt"))
	}
	r.config = filepath.Join(r.dir, "config.yml")
	if err := os.WriteFile(r.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r.start()
	t.Cleanup(r.stop)
	return r
}

// url is the registry's base URL.
func (r *registryServer) url() string {
	if r.caFile != "" {
		return "https://" + r.addr
	}
	return "http://" + r.addr
}

// start runs the registry and waits until it answers /v2/.
func (r *registryServer) start() {
	t := r.t
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(r.dir, "registry.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	r.cmd = exec.Command("docker-registry", "serve", r.config)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	r.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(r.cmd, r.exited)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := r.client.Get(r.url() + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return
			}
		}
		select {
		case <-r.exited:
			t.Fatalf("docker-registry exited:\n%s", r.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not answer on %s within 30 s (%v):\n%s", r.addr, err, r.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop stops the registry (its storage stays, for start).
func (r *registryServer) stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.exited
	}
	r.cmd = nil
}

func (r *registryServer) log() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "registry.log"))
	return string(b)
}

// writeCerts makes a CA and a server certificate for 127.0.0.1 signed by
// it, writes them as PEM, and returns a pool holding the CA.
func writeCerts(t *testing.T, caFile, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "nix-docker e2e CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		caFile:   {Type: "CERTIFICATE", Bytes: caDER},
		certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(name, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

// countingProxy stands between the clients and a plain-HTTP registry and
// counts what reaches it: blobs uploaded (an upload committed with 201),
// bytes of upload bodies, blobs mounted from another repository (a POST
// with mount= answered 201). It can hold the first upload until told.
type countingProxy struct {
	addr string

	mu      sync.Mutex
	uploads int
	bytes   int64
	mounts  int
	hold    chan struct{} // when set, the next PATCH waits for it to close
	held    chan struct{} // closed when a PATCH is being held
}

// counts is what a countingProxy saw over a span.
type counts struct {
	uploads, mounts int
	bytes           int64
}

func startProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0) // an interrupted upload is expected
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		upload := strings.Contains(req.URL.Path, "/blobs/uploads/")
		if upload && req.Method == http.MethodPatch {
			p.mu.Lock()
			hold, held := p.hold, p.held
			p.hold = nil
			p.mu.Unlock()
			if hold != nil {
				close(held)
				<-hold
			}
		}
		if upload && req.Body != nil {
			req.Body = &countBody{ReadCloser: req.Body, p: p}
		}
		sw := &statusWriter{ResponseWriter: w}
		rp.ServeHTTP(sw, req)
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case upload && req.Method == http.MethodPost && req.URL.Query().Get("mount") != "" && sw.status == http.StatusCreated:
			p.mounts++
		case upload && req.Method == http.MethodPut && sw.status == http.StatusCreated:
			p.uploads++
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return p
}

// since returns what the proxy counted from c on.
func (p *countingProxy) since(c counts) counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return counts{uploads: p.uploads - c.uploads, mounts: p.mounts - c.mounts, bytes: p.bytes - c.bytes}
}

// holdNext makes the next upload wait until release is called; held is
// closed once it waits.
func (p *countingProxy) holdNext() (held <-chan struct{}, release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold, p.held = make(chan struct{}), make(chan struct{})
	hold := p.hold
	var once sync.Once
	return p.held, func() { once.Do(func() { close(hold) }) }
}

type countBody struct {
	io.ReadCloser
	p *countingProxy
}

func (b *countBody) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	b.p.mu.Lock()
	b.p.bytes += int64(n)
	b.p.mu.Unlock()
	return n, err
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
