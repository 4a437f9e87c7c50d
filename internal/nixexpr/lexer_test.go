package nixexpr

import (
	"errors"
	"strings"
	"testing"
)

// readNixString models how Nix's lexer (src/libexpr/lexer.l: the STRING
// state and unescapeStr) reads a double-quoted string literal: lit is
// what follows the opening quote. It returns the string's bytes and what
// follows the closing quote, or an error where the literal would start
// an interpolation or run to the end of the input.
func readNixString(lit string) (value, rest string, err error) {
	var b strings.Builder
	for i := 0; i < len(lit); i++ {
		switch c := lit[i]; {
		case c == '"':
			return b.String(), lit[i+1:], nil
		case c == '\\':
			if i+1 >= len(lit) {
				return "", "", errors.New("a backslash at the end of the input")
			}
			i++
			switch e := lit[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(e)
			}
		case c == '$' && i+1 < len(lit) && lit[i+1] == '{':
			return "", "", errors.New("an interpolation starts")
		case c == '\r':
			// A raw CR, or CR LF, reads as LF.
			b.WriteByte('\n')
			if i+1 < len(lit) && lit[i+1] == '\n' {
				i++
			}
		case c == 0:
			return "", "", errors.New("a NUL byte ends Nix's input")
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("the string is not closed")
}

// escapeSeeds are the troublemakers, NUL and bytes that are not UTF-8
// among them.
var escapeSeeds = append([]string{
	"\x00", "a\x00b", "\xff", "\xfe\xff", "\xe2\x28\xa1", "\xc3", "$\xff{", "\\\xff", "\r\n\r", "$", "$\\", "\\$",
}, nasty...)

// FuzzEscapeModel checks escape() against the model of Nix's lexer, with
// no Nix needed: every string without NUL (any bytes, not only UTF-8)
// reads back as itself and closes where it should; a string with NUL is
// refused. scripts/test runs it for a bounded time.
func FuzzEscapeModel(f *testing.F) {
	for _, s := range escapeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit, err := escape(s)
		if strings.IndexByte(s, 0) >= 0 {
			if err == nil {
				t.Fatalf("escape(%q) accepted a NUL byte", s)
			}
			return
		}
		if err != nil {
			t.Fatalf("escape(%q): %v", s, err)
		}
		got, rest, err := readNixString(lit + `" ; rest`)
		if err != nil || got != s || rest != " ; rest" {
			t.Fatalf("escape(%q) = %q reads back as %q, rest %q, %v", s, lit, got, rest, err)
		}
	})
}

// TestNixStringModel pins the model on cases whose reading by the real
// Nix is known (TestEscapeRoundTrip checks escape against Nix itself).
func TestNixStringModel(t *testing.T) {
	for lit, want := range map[string]string{
		`a" x`:         "a",
		`\n\r\t\$\"" `: "\n\r\t$\"",
		"a\r\nb\" ":    "a\nb",
		`$$" `:         "$$",
		`\${x}" `:      "${x}",
	} {
		got, _, err := readNixString(lit)
		if err != nil || got != want {
			t.Errorf("readNixString(%q) = %q, %v; want %q", lit, got, err, want)
		}
	}
	for _, lit := range []string{`${x}"`, `abc`, `a\`} {
		if _, _, err := readNixString(lit); err == nil {
			t.Errorf("readNixString(%q) read a string", lit)
		}
	}
}
