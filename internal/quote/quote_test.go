package quote

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// The readers below model how each target reads back one quoted token, as
// its own source does (cited on each); the fuzz targets check that every
// value a function accepts reads back as itself, with nothing left over.

var errModel = errors.New("the target would not read this token")

// readApache models ap_getword_conf (server/util.c) on a double-quoted
// argument: \\ and \" are escapes, any other backslash stays.
func readApache(tok string) (string, error) {
	if len(tok) < 2 || tok[0] != '"' {
		return "", errModel
	}
	var b strings.Builder
	for i := 1; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == '\\' && i+1 < len(tok) && (tok[i+1] == '\\' || tok[i+1] == '"'):
			i++
			b.WriteByte(tok[i])
		case c == '"':
			if i != len(tok)-1 {
				return "", errModel // the argument ended early
			}
			return b.String(), nil
		case c == '\n' || c == '\r':
			return "", errModel // httpd reads the file line by line
		default:
			b.WriteByte(c)
		}
	}
	return "", errModel
}

// readNginx models ngx_conf_read_token (core/ngx_conf_file.c) on a
// double-quoted token: \" \' \\ \t \r \n are escapes.
func readNginx(tok string) (string, error) {
	if len(tok) < 2 || tok[0] != '"' {
		return "", errModel
	}
	var b strings.Builder
	for i := 1; i < len(tok); i++ {
		c := tok[i]
		if c == '\\' && i+1 < len(tok) {
			switch n := tok[i+1]; n {
			case '"', '\'', '\\':
				b.WriteByte(n)
				i++
				continue
			case 't', 'r', 'n':
				b.WriteByte(map[byte]byte{'t': '\t', 'r': '\r', 'n': '\n'}[n])
				i++
				continue
			}
		}
		if c == '"' {
			if i != len(tok)-1 {
				return "", errModel
			}
			return b.String(), nil
		}
		b.WriteByte(c)
	}
	return "", errModel
}

// readRedis models sdssplitargs (src/sds.c) on a double-quoted argument.
func readRedis(tok string) (string, error) {
	if len(tok) < 2 || tok[0] != '"' {
		return "", errModel
	}
	var b strings.Builder
	for i := 1; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == '\\' && i+3 < len(tok) && tok[i+1] == 'x' && isHex(tok[i+2]) && isHex(tok[i+3]):
			n, _ := strconv.ParseUint(tok[i+2:i+4], 16, 8)
			b.WriteByte(byte(n))
			i += 3
		case c == '\\' && i+1 < len(tok):
			i++
			if e, ok := map[byte]byte{'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'a': '\a'}[tok[i]]; ok {
				b.WriteByte(e)
			} else {
				b.WriteByte(tok[i])
			}
		case c == '"':
			if i != len(tok)-1 { // a closing quote must end the argument
				return "", errModel
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", errModel
}

func isHex(c byte) bool { return strings.IndexByte("0123456789abcdefABCDEF", c) >= 0 }

// readPostgreSQL models guc-file.l: a quoted value holds no raw newline,
// a quote is doubled or escaped, and GUC_scanstr unescapes it.
func readPostgreSQL(tok string) (string, error) {
	if len(tok) < 2 || tok[0] != '\'' || tok[len(tok)-1] != '\'' {
		return "", errModel
	}
	in := tok[1 : len(tok)-1]
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '\n':
			return "", errModel
		case c == '\'':
			if i+1 >= len(in) || in[i+1] != '\'' {
				return "", errModel
			}
			b.WriteByte('\'')
			i++
		case c == '\\':
			if i+1 >= len(in) {
				return "", errModel
			}
			i++
			switch n := in[i]; {
			case n >= '0' && n <= '7':
				v, k := 0, 0
				for ; k < 3 && i+k < len(in) && in[i+k] >= '0' && in[i+k] <= '7'; k++ {
					v = v<<3 + int(in[i+k]-'0')
				}
				b.WriteByte(byte(v))
				i += k - 1
			case strings.IndexByte("bfnrt", n) >= 0:
				b.WriteByte(map[byte]byte{'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}[n])
			default:
				b.WriteByte(n)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// readLighttpd models config_tokenizer (src/configfile.c): a string runs
// to the next " not preceded by a backslash; \" stands for ", and a
// newline inside is an error.
func readLighttpd(tok string) (string, error) {
	if len(tok) < 2 || tok[0] != '"' {
		return "", errModel
	}
	var b strings.Builder
	for i := 1; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == '\\' && i+1 < len(tok) && tok[i+1] == '"':
			b.WriteByte('"')
			i++
		case c == '"':
			if i != len(tok)-1 {
				return "", errModel
			}
			return b.String(), nil
		case c == '\n':
			return "", errModel
		default:
			b.WriteByte(c)
		}
	}
	return "", errModel
}

// readINI models PHP's ini scanner (Zend/zend_ini_scanner.l) on a
// double-quoted value: \" \\ \$ are escapes, ${ would expand.
func readINI(tok string) (string, error) {
	if len(tok) < 2 || tok[0] != '"' {
		return "", errModel
	}
	var b strings.Builder
	for i := 1; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == '\\' && i+1 < len(tok) && strings.IndexByte(`"\$`, tok[i+1]) >= 0:
			i++
			b.WriteByte(tok[i])
		case c == '$' && i+1 < len(tok) && tok[i+1] == '{':
			return "", errModel
		case c == '"':
			if i != len(tok)-1 {
				return "", errModel
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", errModel
}

// readShell models a POSIX shell word made of bare characters and
// single-quoted parts, and refuses anything else.
func readShell(tok string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(tok[i+1:], '\'')
			if j < 0 {
				return "", errModel
			}
			b.WriteString(tok[i+1 : i+1+j])
			i += j + 1
		case c == '\\' && i+1 < len(tok):
			i++
			b.WriteByte(tok[i])
		case shellSafe(c):
			b.WriteByte(c)
		default:
			return "", errModel
		}
	}
	if tok == "" {
		return "", errModel
	}
	return b.String(), nil
}

var readers = map[string]func(string) (string, error){
	"shell_quote":      readShell,
	"apache_quote":     readApache,
	"nginx_quote":      readNginx,
	"redis_quote":      readRedis,
	"postgresql_quote": readPostgreSQL,
	"lighttpd_quote":   readLighttpd,
	"ini_quote":        readINI,
}

// nasty are values that broke generated files before they were quoted,
// and the characters each target treats specially.
var nasty = []string{
	"", "plain", "/var/lib/data", "a b", "tab\there", "new\nline", "cr\rlf", "\x00", "\x01\x1f\x7f",
	`"`, `'`, `\`, `\\`, `a\`, `\"`, `\'`, `'\''`, "$", "${HOME}", "$(id)", "`id`", "#", "# c", ";", "{", "}", "{}",
	"a;b", "0.0.0.0\nrequirepass x", "x\" + y", "é ü 日本 🚀", "\xff\xfe", "\xe2\x28\xa1", "%{x}", "\\x41", "\\101",
	"''", "\"\"", "\uE000abc#1\uE001",
}

// TestRoundTrip checks every function on the hand-picked values: what it
// accepts reads back as the value, and it refuses what its doc says.
func TestRoundTrip(t *testing.T) {
	for name, f := range Targets {
		for _, s := range nasty {
			checkRoundTrip(t, name, f, s)
		}
	}
}

func checkRoundTrip(t *testing.T, name string, f Func, s string) {
	t.Helper()
	q, err := f(s)
	if err != nil {
		if accepts(name, s) {
			t.Errorf("%s(%q) = error %v, want it quoted", name, s, err)
		}
		return
	}
	got, rerr := readers[name](q)
	if rerr != nil || got != s {
		t.Errorf("%s(%q) = %q, which reads back as %q (%v)", name, s, q, got, rerr)
	}
}

// accepts says which values each function must accept: everything its
// target can carry.
func accepts(name, s string) bool {
	if strings.IndexByte(s, 0) >= 0 {
		return false
	}
	valid := strings.ToValidUTF8(s, "") == s
	ctl := func(allowed string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; (c < 0x20 || c == 0x7f) && strings.IndexByte(allowed, c) < 0 {
				return true
			}
		}
		return false
	}
	switch name {
	case "shell_quote":
		return true
	case "apache_quote":
		return valid && !ctl("\t") && !strings.Contains(s, "${")
	case "nginx_quote":
		return valid && !ctl("\t\r\n") && !strings.Contains(s, "$")
	case "lighttpd_quote":
		return valid && !ctl("\t") && !strings.HasSuffix(s, `\`)
	case "ini_quote":
		return valid && !ctl("\t\n")
	default:
		return valid
	}
}

// FuzzQuote checks each function on generated values: accepted values
// read back exactly, refused ones are the ones the target cannot carry.
// scripts/test runs it for a bounded time.
func FuzzQuote(f *testing.F) {
	for _, s := range nasty {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, fn := range Targets {
			checkRoundTrip(t, name, fn, s)
		}
	})
}

// TestShellReal has the real sh read back what Shell quotes.
func TestShellReal(t *testing.T) {
	var in []string
	var words []string
	for _, s := range nasty {
		if strings.IndexByte(s, 0) >= 0 {
			continue
		}
		q, err := Shell(s)
		if err != nil {
			t.Fatalf("Shell(%q): %v", s, err)
		}
		in = append(in, s)
		words = append(words, q)
	}
	out, err := exec.Command("sh", "-c", `for w in `+strings.Join(words, " ")+`; do printf '%s\0' "$w"; done`).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(in) {
		t.Fatalf("sh read %d words, want %d: %q", len(got), len(in), got)
	}
	for i := range in {
		if got[i] != in[i] {
			t.Errorf("sh reads Shell(%q) = %s as %q", in[i], words[i], got[i])
		}
	}
}
