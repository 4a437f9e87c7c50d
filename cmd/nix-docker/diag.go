package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// writeDiags prints each diagnostic as
//
//	app.hcl:3:13: error: Incorrect value type
//	    3 |   command = 42
//	      |             ^^
//	  Inappropriate value for attribute "command": string required, got number.
func writeDiags(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) {
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		if d.Subject == nil {
			fmt.Fprintf(w, "%s: %s\n", sev, d.Summary)
		} else {
			r := d.Subject
			fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", r.Filename, r.Start.Line, r.Start.Column, sev, d.Summary)
			if f := files[r.Filename]; f != nil {
				writeSnippet(w, f.Bytes, *r)
			}
		}
		if d.Detail != "" {
			for _, line := range strings.Split(d.Detail, "\n") {
				fmt.Fprintf(w, "  %s\n", line)
			}
		}
		fmt.Fprintln(w)
	}
}

func writeSnippet(w io.Writer, src []byte, r hcl.Range) {
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), 10*1024*1024)
	for n := 1; sc.Scan(); n++ {
		if n < r.Start.Line {
			continue
		}
		if n > r.End.Line || n > r.Start.Line+4 {
			break
		}
		line := strings.ReplaceAll(sc.Text(), "\t", " ")
		fmt.Fprintf(w, "%5d | %s\n", n, line)
		from, to := 1, len([]rune(line))+1
		if n == r.Start.Line {
			from = r.Start.Column
		}
		if n == r.End.Line {
			to = r.End.Column
		}
		if to <= from {
			to = from + 1
		}
		fmt.Fprintf(w, "      | %s%s\n", strings.Repeat(" ", from-1), strings.Repeat("^", to-from))
	}
}
