package quote

import "testing"

func TestCheckPath(t *testing.T) {
	for s, ok := range map[string]bool{
		"/var/lib/redis": true, "/": true, "/a b/c": true, "/é": true,
		"": false, "var/lib": false, "/var/../etc": false, "/var/": false, "//x": false, "/x/.": false,
		"/x\n": false, "/x\ny": false, "/x\x00": false, "/x\x7f": false, "/\xff": false,
	} {
		if err := CheckPath(s); (err == nil) != ok {
			t.Errorf("CheckPath(%q) = %v, want ok %v", s, err, ok)
		}
	}
}

func TestCheckHost(t *testing.T) {
	for s, ok := range map[string]bool{
		"0.0.0.0": true, "127.0.0.1": true, "::": true, "::1": true, "*": true, "localhost": true, "db.example.com": true, "a-b_c": true,
		"": false, "0.0.0.0 x": false, "0.0.0.0\nrequirepass x": false, "-a": false, "a..b": false, "fe80::1%eth0": false, "a;b": false, "'x'": false,
	} {
		if err := CheckHost(s); (err == nil) != ok {
			t.Errorf("CheckHost(%q) = %v, want ok %v", s, err, ok)
		}
	}
}

func TestCheckHostPort(t *testing.T) {
	for s, ok := range map[string]bool{
		"127.0.0.1:9000": true, "[::1]:9000": true, "php:9000": true,
		"127.0.0.1": false, "::1:9000": false, "127.0.0.1:0": false, "127.0.0.1:65536": false, "127.0.0.1:09000": false,
		"*:9000": false, "127.0.0.1:9000\nx": false, "x y:9000": false, "127.0.0.1:9000;": false,
	} {
		if err := CheckHostPort(s); (err == nil) != ok {
			t.Errorf("CheckHostPort(%q) = %v, want ok %v", s, err, ok)
		}
	}
}
