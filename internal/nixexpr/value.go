package nixexpr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/nix-docker/nix-docker/internal/contract"
	quoting "github.com/nix-docker/nix-docker/internal/quote"
)

func attrName(a string) string {
	if quoting.NixIdentifier(a) {
		return a
	}
	return quote(a)
}

// quote renders a plain string as a Nix string literal.
func quote(s string) string {
	lit, err := escape(s)
	if err != nil {
		// Names and paths never hold NUL: they come from validated
		// identifiers or the file system.
		panic(err)
	}
	return "\"" + lit + "\""
}

// escape makes s safe inside a double-quoted Nix string: every byte of s
// reaches Nix unchanged, invalid UTF-8 included (Nix strings are bytes).
// `$` is always escaped, so neither "${" nor "$${" can start an
// interpolation; a raw CR would read back as LF, so it is escaped too.
func escape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			return "", fmt.Errorf("Nix strings cannot hold NUL bytes")
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '$':
			b.WriteString(`\$`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func marshal(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// passedFile is the environment variable that names the file Nix writes
// for an attribute listed in passAsFile.
func passedFile(attr string) string { return attr + "Path" }

// varMark starts a string that stands for a Nix variable: the value of
// nixVar("init") is rendered as "${init}". NUL never occurs in a Nix
// string, so no real value can look like one.
const varMark = "\x00"

// nixVar is a string standing for the store path bound to name.
func nixVar(name string) string { return varMark + name }

// entryValue renders a build-files entry as a Nix attribute set whose
// builtins.toJSON is the entry's JSON: the attribute names are the JSON
// names of contract.FileEntry, in field order, and empty fields tagged
// omitempty are left out, as encoding/json does.
func entryValue(e contract.FileEntry) string {
	v := reflect.ValueOf(e)
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < v.NumField(); i++ {
		name, opts, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		f := v.Field(i)
		if opts == "omitempty" && f.IsZero() {
			continue
		}
		b.WriteString(" " + attrName(name) + " = ")
		switch f.Kind() {
		case reflect.String:
			if s, ok := strings.CutPrefix(f.String(), varMark); ok {
				b.WriteString("\"${" + s + "}\"")
			} else {
				b.WriteString(quote(f.String()))
			}
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			b.WriteString(strconv.FormatUint(f.Uint(), 10))
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			b.WriteString(strconv.FormatInt(f.Int(), 10))
		case reflect.Bool:
			b.WriteString(strconv.FormatBool(f.Bool()))
		default:
			panic(fmt.Sprintf("entryValue: field %s has kind %s", name, f.Kind()))
		}
		b.WriteString(";")
	}
	b.WriteString(" }")
	return b.String()
}
