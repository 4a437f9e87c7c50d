package supervise

import (
	"slices"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/quote"
)

// FuzzSplitWords quotes words as modules do (shell_quote, which is
// quote.Shell), joins them into a command line and splits it as the init
// does: the same words come back. Any line, quoted or not, splits
// without a panic. scripts/test runs it for a bounded time.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{
		"", "a", "a b", "'", "\"", "\\", "a'b", "x\ny", "$(id)", "`id`", "\t", "\x00", "\xff", "it's \"quoted\"", "a\\\nb", "'\\''",
	} {
		f.Add(s, "second word", true)
	}
	f.Fuzz(func(t *testing.T, a, b string, raw bool) {
		if raw {
			SplitWords(a + " " + b) // any line: an error at most
		}
		if strings.IndexByte(a, 0) >= 0 || strings.IndexByte(b, 0) >= 0 {
			return // no command word can hold NUL
		}
		words := []string{"/bin/prog", a, b}
		var quoted []string
		for _, w := range words {
			q, err := quote.Shell(w)
			if err != nil {
				t.Fatalf("quote.Shell(%q): %v", w, err)
			}
			quoted = append(quoted, q)
		}
		line := strings.Join(quoted, " ")
		got, err := SplitWords(line)
		if err != nil || !slices.Equal(got, words) {
			t.Fatalf("SplitWords(%q) = %q, %v; want %q", line, got, err, words)
		}
	})
}
