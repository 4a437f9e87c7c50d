// Package quote renders and checks values for the files they land in:
// one function per target, each following that target's own lexical
// rules (POSIX sh, Apache httpd, nginx, Redis, postgresql.conf, lighttpd,
// PHP's ini files), and checks for paths, hosts and ports; and whether a
// name may stand unquoted in Nix (NixIdentifier).
//
// A quoting function returns the value as one token of its target, which
// the target reads back as the value itself, or an error when the target
// has no way to carry the value (a newline in an Apache argument, a `$`
// in an nginx string). Every function leaves bytes outside ASCII as they
// are, and escapes nothing but ASCII punctuation and control characters,
// so internal/project can quote strings that still hold its reference
// placeholders (made of non-ASCII marks, hex digits and '#').
//
// It knows nothing of HCL, modules or Nix: internal/project offers these
// functions to HCL files (shell_quote, apache_quote, ...), and the table
// in docs/language.md lists each target's rule. Nix string literals are
// internal/nixexpr's.
package quote
