package quote

import (
	"fmt"
	"net"
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// CheckPath accepts an absolute, clean path without control characters,
// such as "/var/lib/redis": what a path in a generated file or a command
// line may be.
func CheckPath(s string) error {
	if err := control(s, "a path", ""); err != nil {
		return err
	}
	if !path.IsAbs(s) || path.Clean(s) != s {
		return fmt.Errorf("%q is not an absolute, clean path (such as \"/var/lib/data\")", s)
	}
	if len(s) > 4095 {
		return fmt.Errorf("a path is at most 4095 bytes long")
	}
	return nil
}

// CheckHost accepts what a server may bind to or connect to: an IPv4 or
// IPv6 address, a DNS name (letters, digits and dashes in dot-separated
// labels), or "*" for every address.
func CheckHost(s string) error {
	if s == "*" {
		return nil
	}
	if _, err := netip.ParseAddr(s); err == nil && !strings.Contains(s, "%") {
		return nil
	}
	if len(s) == 0 || len(s) > 253 {
		return fmt.Errorf("%q is not an IP address or a host name", s)
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if !hostLabel(label) {
			return fmt.Errorf("%q is not an IP address or a host name", s)
		}
	}
	return nil
}

func hostLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// CheckHostPort accepts "HOST:PORT" ("[::1]:9000" for IPv6), HOST as
// CheckHost takes it (but "*") and PORT from 1 to 65535.
func CheckHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT (such as \"127.0.0.1:9000\")", s)
	}
	if host == "*" || CheckHost(host) != nil {
		return fmt.Errorf("%q is not HOST:PORT: %q is not an IP address or a host name", s, host)
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(s, "[") {
		return fmt.Errorf("%q is not HOST:PORT: write an IPv6 address in brackets, as [::1]:9000", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || CheckPort(n) != nil || strconv.Itoa(n) != port {
		return fmt.Errorf("%q is not HOST:PORT: %q is not a port from 1 to 65535", s, port)
	}
	return nil
}

// CheckPort accepts a TCP port, 1 to 65535.
func CheckPort(n int) error {
	if n < 1 || n > 65535 {
		return fmt.Errorf("%d is not a port from 1 to 65535", n)
	}
	return nil
}
