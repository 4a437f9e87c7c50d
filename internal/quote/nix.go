package quote

import "regexp"

var nixIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_'-]*$`)

// nixKeywords are the words Nix's lexer reserves: they cannot be an
// attribute name or a variable unquoted.
var nixKeywords = map[string]bool{"if": true, "then": true, "else": true, "assert": true, "with": true, "let": true, "in": true, "rec": true, "inherit": true, "or": true}

// NixIdentifier tells whether s is a Nix identifier: one that may stand
// unquoted as an attribute name or a variable.
func NixIdentifier(s string) bool { return nixIdent.MatchString(s) && !nixKeywords[s] }
