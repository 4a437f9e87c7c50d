package nixexpr

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

var nasty = []string{
	"", "plain", "${", "$${", "$${x}", "${x}", "''", "'''", "''${", "\\", "\\\\", "\\${x}", "\"", "\\\"",
	"\n", "\r\n", "\t", "\x01\x1f\x7f", "é ü 日本 🚀", "$", "$$", "a$", "${pkgs.hello}", "''\\n", "\"${\"",
	"# comment", "/* c */", "x\" + builtins.abort \"y", "\u2028\u2029", "\ufeff",
}

// evalStrings evaluates the literals escape() makes for each string with
// the real Nix and returns the values Nix sees.
func evalStrings(t *testing.T, in []string) []string {
	t.Helper()
	var expr strings.Builder
	expr.WriteString("[\n")
	for _, s := range in {
		lit, err := escape(s)
		if err != nil {
			t.Fatalf("escape(%q): %v", s, err)
		}
		expr.WriteString("\"" + lit + "\"\n")
	}
	expr.WriteString("]\n")
	cmd := exec.Command("nix-instantiate", "--eval", "--strict", "--json", "-E", expr.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-instantiate: %v\n%s", err, stderr.String())
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("reading %q: %v", out, err)
	}
	return got
}

// TestEscapeRoundTrip proves with the real Nix that every string reaches
// Nix byte for byte: hand-picked troublemakers and a few thousand random
// strings built from them.
func TestEscapeRoundTrip(t *testing.T) {
	testutil.NeedNix(t)
	in := append([]string(nil), nasty...)
	rng := rand.New(rand.NewSource(1))
	pieces := append(append([]string(nil), nasty...), "a", " ", "{", "}", "'", "$")
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		for n := rng.Intn(8); n >= 0; n-- {
			if rng.Intn(4) == 0 {
				r := rune(1 + rng.Intn(0x2fff))
				if utf8.ValidRune(r) {
					b.WriteRune(r)
				}
				continue
			}
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		in = append(in, b.String())
	}
	got := evalStrings(t, in)
	if len(got) != len(in) {
		t.Fatalf("nix returned %d strings, want %d", len(got), len(in))
	}
	for i := range in {
		if got[i] != in[i] {
			t.Errorf("escape(%q) reads back in Nix as %q", in[i], got[i])
		}
	}
}

// FuzzEscape checks the same with generated input; `go test` runs the
// seeds, `go test -fuzz=FuzzEscape -fuzztime=30s ./internal/nixexpr` goes on.
func FuzzEscape(f *testing.F) {
	for _, s := range escapeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			if _, err := escape(s); strings.ContainsRune(s, 0) && err == nil {
				t.Fatalf("escape(%q) accepted a NUL byte", s)
			}
			return // NUL is refused; Nix's --json cannot print other bytes (FuzzEscapeModel covers them)
		}
		testutil.NeedNix(t)
		if got := evalStrings(t, []string{s}); len(got) != 1 || got[0] != s {
			t.Fatalf("escape(%q) reads back in Nix as %q", s, got)
		}
	})
}
