package quote

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// A Func quotes a value for one target.
type Func func(string) (string, error)

// Targets are the quoting functions by the name HCL files call them.
var Targets = map[string]Func{
	"shell_quote":      Shell,
	"apache_quote":     Apache,
	"nginx_quote":      Nginx,
	"redis_quote":      Redis,
	"postgresql_quote": PostgreSQL,
	"lighttpd_quote":   Lighttpd,
	"ini_quote":        INI,
}

// control reports the first ASCII control character in s that allowed
// does not list, as an error naming the target.
func control(s, target, allowed string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s: the value is not valid UTF-8", target)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 || c == 0x7f) && strings.IndexByte(allowed, c) < 0 {
			return fmt.Errorf("%s cannot hold the control character %q (at byte %d)", target, rune(c), i)
		}
	}
	return nil
}

// shellSafe are the bytes a POSIX shell word may hold unquoted.
func shellSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_@%+=:,./-", c) >= 0
}

// Shell quotes s as one word of a POSIX shell command line, and of a
// service's command (which the init splits the same way): unchanged when
// it holds only letters, digits and _@%+=:,./-, else in single quotes,
// where a quote is written as quote, backslash, quote, quote. A
// single-quoted word may span lines.
func Shell(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", fmt.Errorf("a shell word cannot hold a NUL byte")
	}
	safe := s != ""
	for i := 0; i < len(s) && safe; i++ {
		safe = shellSafe(s[i])
	}
	if safe {
		return s, nil
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'", nil
}

// Apache quotes s as one argument of an Apache httpd directive: in double
// quotes, with \ and " escaped (ap_getword_conf reads \\ and \" back).
// httpd reads its configuration line by line and replaces ${NAME}
// everywhere, so control characters (but tab) and "${" are refused.
func Apache(s string) (string, error) {
	if err := control(s, "an Apache httpd argument", "\t"); err != nil {
		return "", err
	}
	if strings.Contains(s, "${") {
		return "", fmt.Errorf("an Apache httpd argument cannot hold \"${\": httpd replaces ${NAME} with a variable, and has no escape for it")
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`, nil
}

// Nginx quotes s as one nginx token: in double quotes, with \ and "
// escaped and tab, CR and LF written as \t, \r, \n (ngx_conf_read_token
// reads them back). nginx replaces $name in the arguments of many
// directives and has no escape for `$`, so it is refused, as are the
// other control characters.
func Nginx(s string) (string, error) {
	if err := control(s, "an nginx string", "\t\r\n"); err != nil {
		return "", err
	}
	if strings.Contains(s, "$") {
		return "", fmt.Errorf("an nginx string cannot hold \"$\": nginx reads $name as a variable, and has no escape for it")
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`, "\r", `\r`, "\n", `\n`).Replace(s) + `"`, nil
}

// Redis quotes s as one argument of a redis.conf line: in double quotes,
// with \ and " escaped and every control character written as \xHH
// (sdssplitargs reads them back). Any string can be written.
func Redis(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("a Redis argument here must be valid UTF-8")
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

// PostgreSQL quotes s as a postgresql.conf value: in single quotes, the
// quote doubled, \ escaped, and control characters written as \n, \r,
// \t, \b, \f or three octal digits (guc-file.l's GUC_scanstr reads them
// back; a raw newline would end the value). Any string can be written.
func PostgreSQL(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("a postgresql.conf value must be valid UTF-8")
	}
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b.WriteString("''")
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\%03o`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('\'')
	return b.String(), nil
}

// Lighttpd quotes s as a lighttpd.conf string: in double quotes, with "
// written \" (the one escape lighttpd's tokenizer knows; a backslash
// before anything else stays a backslash). A string cannot span lines nor
// end in a backslash, so control characters (but tab) and a trailing
// backslash are refused.
func Lighttpd(s string) (string, error) {
	if err := control(s, "a lighttpd string", "\t"); err != nil {
		return "", err
	}
	if strings.HasSuffix(s, `\`) {
		return "", fmt.Errorf("a lighttpd string cannot end in a backslash: lighttpd would read it as an escaped quote")
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`, nil
}

// INI quotes s as a value of PHP's ini files (php.ini, php-fpm.conf): in
// double quotes, with \, " and $ escaped (PHP expands ${NAME} inside
// double quotes; \$ keeps a dollar sign). Values may span lines; other
// control characters are refused.
func INI(s string) (string, error) {
	if err := control(s, "a PHP ini value", "\t\n"); err != nil {
		return "", err
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`).Replace(s) + `"`, nil
}
