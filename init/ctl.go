package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// defaultSocket is where the init listens for `ctl`; NIX_DOCKER_INIT_SOCKET
// overrides it on both sides (tests run several inits at once).
const defaultSocket = "/run/nix-docker-init.sock"

func socketPath() string {
	if p := os.Getenv("NIX_DOCKER_INIT_SOCKET"); p != "" {
		return p
	}
	return defaultSocket
}

type ctlRequest struct {
	Op     string `json:"op"`
	Name   string `json:"name,omitempty"`
	Signal string `json:"signal,omitempty"`
}

type ctlReply struct {
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
}

// controller runs control requests: *supervise.Supervisor.
type controller interface {
	Control(op, name, signal string) (string, error)
}

func listenControl(path string, sup controller) (net.Listener, error) {
	os.Remove(path)
	old := syscall.Umask(0o077)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serveControl(c, sup)
		}
	}()
	return l, nil
}

// A request must arrive within ctlReadTimeout and fit in ctlMaxRequest
// bytes; the reply must be taken within ctlWriteTimeout. (Variables for
// the tests.)
var (
	ctlReadTimeout  = 5 * time.Second
	ctlWriteTimeout = 5 * time.Second
)

const ctlMaxRequest = 4 << 10

func serveControl(c net.Conn, sup controller) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(ctlReadTimeout))
	var req ctlRequest
	dec := json.NewDecoder(io.LimitReader(c, ctlMaxRequest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		c.SetWriteDeadline(time.Now().Add(ctlWriteTimeout))
		json.NewEncoder(c).Encode(ctlReply{Error: fmt.Sprintf("bad request (at most %d bytes of JSON within %s): %v", ctlMaxRequest, ctlReadTimeout, err)})
		return
	}
	out, err := sup.Control(req.Op, req.Name, req.Signal)
	rep := ctlReply{Output: out}
	if err != nil {
		rep.Error = err.Error()
	}
	c.SetWriteDeadline(time.Now().Add(ctlWriteTimeout))
	json.NewEncoder(c).Encode(rep)
}

func ctl(args []string) int {
	var req ctlRequest
	switch {
	case len(args) == 1 && (args[0] == "status" || args[0] == "health"):
		req.Op = args[0]
	case len(args) == 2 && (args[0] == "start" || args[0] == "stop" || args[0] == "restart"):
		req.Op, req.Name = args[0], args[1]
	case len(args) == 3 && args[0] == "signal":
		req.Op, req.Name, req.Signal = args[0], args[1], args[2]
	default:
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	c, err := net.DialTimeout("unix", socketPath(), 5*time.Second)
	if err != nil {
		fmt.Fprintf(os.Stderr, "nix-docker-init ctl: %v\n", err)
		return 1
	}
	defer c.Close()
	if err := json.NewEncoder(c).Encode(req); err != nil {
		fmt.Fprintf(os.Stderr, "nix-docker-init ctl: %v\n", err)
		return 1
	}
	var rep ctlReply
	if err := json.NewDecoder(c).Decode(&rep); err != nil {
		fmt.Fprintf(os.Stderr, "nix-docker-init ctl: reading reply: %v\n", err)
		return 1
	}
	fmt.Print(rep.Output)
	if rep.Error != "" {
		fmt.Fprintf(os.Stderr, "nix-docker-init ctl: %s\n", rep.Error)
		return 1
	}
	return 0
}
