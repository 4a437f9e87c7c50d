package modules_test

import (
	"fmt"
	"strings"
)

// The readers below list the directives of a generated file the way its
// program reads them: a value that breaks out of its quotes shows up as
// one more directive, or as one more argument, than the same file with a
// plain value. Each follows its program's lexer (named on each); the
// program itself then checks the file.

// apacheDirectives models httpd's ap_cfg_getline (a line ending in \
// goes on on the next) and ap_getword_conf (words, "..." and '...' with
// \\ and \" escapes): one "NAME/ARGS" per directive.
func apacheDirectives(text string) ([]string, error) {
	var out []string
	text = strings.ReplaceAll(text, "\\\n", "")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words, err := apacheWords(line)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		out = append(out, fmt.Sprintf("%s/%d", words[0], len(words)-1))
	}
	return out, nil
}

func apacheWords(line string) ([]string, error) {
	var words []string
	for i := 0; i < len(line); {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) {
			break
		}
		var w strings.Builder
		if q := line[i]; q == '"' || q == '\'' {
			i++
			for ; i < len(line) && line[i] != q; i++ {
				if line[i] == '\\' && i+1 < len(line) && (line[i+1] == q || line[i+1] == '\\') {
					i++
				}
				w.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, fmt.Errorf("unterminated quote")
			}
			i++
		} else {
			for ; i < len(line) && line[i] != ' ' && line[i] != '\t'; i++ {
				w.WriteByte(line[i])
			}
		}
		words = append(words, w.String())
	}
	return words, nil
}

// nginxDirectives models ngx_conf_read_token: words (bare, "..." or
// '...', with \ escapes), statements ended by ; or { and blocks by },
// # comments outside quotes. One "NAME/ARGS" per statement, "}" per
// block end.
func nginxDirectives(text string) ([]string, error) {
	var out []string
	var words []string
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == ';' || c == '{':
			if len(words) == 0 {
				return nil, fmt.Errorf("a %q without a directive", c)
			}
			out = append(out, fmt.Sprintf("%s/%d%c", words[0], len(words)-1, c))
			words = nil
			i++
		case c == '}':
			out = append(out, "}")
			i++
		case c == '"' || c == '\'':
			j := i + 1
			for ; j < len(text) && text[j] != c; j++ {
				if text[j] == '\\' {
					j++
				}
			}
			if j >= len(text) {
				return nil, fmt.Errorf("unterminated quote")
			}
			words = append(words, text[i:j+1])
			i = j + 1
		default:
			j := i
			for ; j < len(text) && !strings.ContainsRune(" \t\n\r;{}\"'", rune(text[j])); j++ {
				if text[j] == '\\' {
					j++
				}
			}
			words = append(words, text[i:min(j, len(text))])
			i = j
		}
	}
	if len(words) > 0 {
		return nil, fmt.Errorf("unterminated directive %q", words[0])
	}
	return out, nil
}

// redisDirectives models redis' loadServerConfigFromString: one line a
// directive, # lines skipped, arguments as sdssplitargs splits them (a
// closing quote must be followed by a space).
func redisDirectives(text string) ([]string, error) {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		n := 0
		for i := 0; i < len(line); {
			for i < len(line) && line[i] == ' ' {
				i++
			}
			if i >= len(line) {
				break
			}
			if q := line[i]; q == '"' || q == '\'' {
				j := i + 1
				for ; j < len(line) && line[j] != q; j++ {
					if line[j] == '\\' {
						j++
					}
				}
				if j >= len(line) || j+1 < len(line) && line[j+1] != ' ' {
					return nil, fmt.Errorf("%q: bad quoting", line)
				}
				i = j + 1
			} else {
				for i < len(line) && line[i] != ' ' {
					i++
				}
			}
			n++
		}
		name, _, _ := strings.Cut(line, " ")
		out = append(out, fmt.Sprintf("%s/%d", name, n-1))
	}
	return out, nil
}

// lighttpdDirectives models lighttpd's config tokenizer: strings run to
// an unescaped " (only \" is an escape), # comments to the end of the
// line outside strings; a name followed by = or += is a directive.
func lighttpdDirectives(text string) ([]string, error) {
	var out []string
	var last string
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '"':
			j := i + 1
			for ; j < len(text) && text[j] != '"'; j++ {
				if text[j] == '\\' && j+1 < len(text) && text[j+1] == '"' {
					j++
				}
				if text[j] == '\n' {
					return nil, fmt.Errorf("newline in a string")
				}
			}
			if j >= len(text) {
				return nil, fmt.Errorf("unterminated string")
			}
			i, last = j, ""
		case c == '=' || c == '+' && i+1 < len(text) && text[i+1] == '=':
			if last != "" && (i+1 >= len(text) || text[i+1] != '>') {
				out = append(out, last)
			}
			last = ""
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(text) && (text[j] == '.' || text[j] == '-' || text[j] == '_' || text[j] >= 'a' && text[j] <= 'z' || text[j] >= 'A' && text[j] <= 'Z' || text[j] >= '0' && text[j] <= '9') {
				j++
			}
			last, i = text[i:j], j-1
		case c == ' ' || c == '\t':
		default:
			last = ""
		}
	}
	return out, nil
}

// iniDirectives models PHP's ini scanner: [sections], name = value, ;
// comments, values in double quotes may span lines (\" \\ \$ escaped).
func iniDirectives(text string) ([]string, error) {
	var out []string
	for i := 0; i < len(text); {
		for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n') {
			i++
		}
		if i >= len(text) {
			break
		}
		end := strings.IndexByte(text[i:], '\n')
		if end < 0 {
			end = len(text) - i
		}
		line := text[i : i+end]
		switch {
		case line[0] == ';':
			i += end
			continue
		case line[0] == '[':
			out = append(out, strings.TrimSpace(line))
			i += end
			continue
		}
		name, _, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not name = value", line)
		}
		out = append(out, strings.TrimSpace(name))
		j := i + len(name) + 1
		for j < len(text) && text[j] != '\n' {
			if text[j] == '"' {
				j++
				for ; j < len(text) && text[j] != '"'; j++ {
					if text[j] == '\\' {
						j++
					}
				}
				if j >= len(text) {
					return nil, fmt.Errorf("unterminated string after %s", name)
				}
			}
			j++
		}
		i = j
	}
	return out, nil
}

// postgresqlDirectives models guc-file.l: one name = value a line,
// values quoted '...' (no raw newline inside), # comments outside them.
func postgresqlDirectives(text string) ([]string, error) {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not name = value", line)
		}
		value = strings.TrimSpace(value)
		if strings.HasPrefix(value, "'") {
			j := 1
			for ; j < len(value); j++ {
				if value[j] == '\\' || value[j] == '\'' && j+1 < len(value) && value[j+1] == '\'' {
					j++
					continue
				}
				if value[j] == '\'' {
					break
				}
			}
			rest := strings.TrimSpace(value[min(j+1, len(value)):])
			if j >= len(value) || rest != "" && rest[0] != '#' {
				return nil, fmt.Errorf("%q: the value does not end where its quote does", line)
			}
		}
		out = append(out, strings.TrimSpace(name))
	}
	return out, nil
}
