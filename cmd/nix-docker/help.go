package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// helpAsked tells whether args ask for help (-h, -help, --help before
// any "--").
func helpAsked(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// commandHelp answers `nix-docker CMD -h`: the command's line of the
// usage and its flags, on stderr like every usage message, and exit 0.
func commandHelp(name string, cmd func([]string, io.Writer, io.Writer) int, stderr io.Writer) int {
	var own bytes.Buffer
	cmd([]string{"-h"}, io.Discard, &own) // the flag set stops at -h and prints its usage
	text := own.String()
	if !strings.HasPrefix(text, "usage:") {
		// The flag package's default: "Usage of nix-docker NAME:", then
		// the flags, if any.
		_, flags, _ := strings.Cut(text, "\n")
		text = "usage:\n"
		for _, line := range strings.Split(usage, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "nix-docker "+name) {
				text += line + "\n"
			}
		}
		if strings.TrimSpace(flags) != "" {
			text += "\nflags:\n" + flags
		}
	}
	fmt.Fprint(stderr, text)
	return 0
}

// unknownCommand handles a first argument that is neither a flag, a
// command nor an existing file: it prints a did-you-mean and returns
// true. Arguments that look like paths are left to the build, which
// says it cannot read them.
func unknownCommand(word string, stderr io.Writer) bool {
	if word == "" || strings.HasPrefix(word, "-") || strings.ContainsAny(word, "/.") {
		return false
	}
	if _, err := os.Stat(word); err == nil {
		return false
	}
	if s := suggest(word); s != "" {
		fmt.Fprintf(stderr, "nix-docker: unknown command %q, and no file by that name; did you mean %q?\n", word, s)
	} else {
		fmt.Fprintf(stderr, "nix-docker: unknown command %q, and no file by that name\n", word)
	}
	fmt.Fprint(stderr, usage)
	return true
}

// suggest returns the command closest to word, if one is close enough
// to be a typo.
func suggest(word string) string {
	names := []string{"help"}
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	limit := 2 // edits; short words need to be closer
	if len([]rune(word)) <= 4 {
		limit = 1
	}
	best, bestScore := "", limit+1
	for _, n := range names {
		score := editDistance(word, n)
		if len(word) >= 3 && strings.HasPrefix(n, word) {
			score = 1 // an abbreviation
		}
		if score < bestScore {
			best, bestScore = n, score
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
