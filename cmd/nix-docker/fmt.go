package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// runFmt rewrites HCL files in the canonical style: FILE, "-" (stdin to
// stdout), or every *.hcl file in the current directory.
func runFmt(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nix-docker fmt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "change nothing; list the files that are not formatted and exit 1 if any")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	files := fs.Args()
	if len(files) == 0 {
		files, _ = filepath.Glob("*.hcl")
	}
	code := 0
	for _, f := range files {
		var src []byte
		var err error
		if f == "-" {
			src, err = io.ReadAll(os.Stdin)
		} else {
			src, err = os.ReadFile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "nix-docker: %v\n", err)
			code = 1
			continue
		}
		// Refuse to format what does not parse: hclwrite would keep the
		// broken tokens, and the user needs the error.
		parsed, diags := hclsyntax.ParseConfig(src, f, hcl.InitialPos)
		if diags.HasErrors() {
			writeDiags(stderr, map[string]*hcl.File{f: parsed}, diags)
			code = 1
			continue
		}
		out := hclwrite.Format(src)
		switch {
		case f == "-":
			stdout.Write(out)
		case bytes.Equal(out, src):
		case *check:
			fmt.Fprintln(stdout, f)
			code = 1
		default:
			st, err := os.Stat(f)
			if err == nil {
				err = os.WriteFile(f, out, st.Mode().Perm())
			}
			if err != nil {
				fmt.Fprintf(stderr, "nix-docker: %v\n", err)
				code = 1
				continue
			}
			fmt.Fprintln(stdout, f)
		}
	}
	return code
}
