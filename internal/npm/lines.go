package npm

import (
	"bytes"
	"encoding/json"
)

// keyLines are the lines of an npm JSON file's keys: its top-level keys
// ("" parent) and the keys of its top-level objects ("packages" ->
// "node_modules/x", "dependencies" -> "express").
type keyLines map[[2]string]int

// top is the line of a top-level key, 0 when it is not there.
func (k keyLines) top(key string) int { return k[[2]string{"", key}] }

// at is the line of key inside the top-level object parent.
func (k keyLines) at(parent, key string) int { return k[[2]string{parent, key}] }

// entry is the line of a lockfile packages entry.
func (k keyLines) entry(path string) int { return k.at("packages", path) }

// findKeyLines scans a JSON document for the lines of its keys at depths
// one and two. The document decoded before, so it is valid JSON.
func findKeyLines(b []byte) keyLines {
	type frame struct {
		object, wantKey bool
		key             string // the key this container is the value of
	}
	out := keyLines{}
	dec := json.NewDecoder(bytes.NewReader(b))
	var stack []frame
	lastKey := ""
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		n := len(stack)
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				stack = append(stack, frame{object: d == '{', wantKey: d == '{', key: lastKey})
				continue
			}
			stack = stack[:n-1]
			if n > 1 && stack[n-2].object {
				stack[n-2].wantKey = true
			}
			continue
		}
		if s, ok := tok.(string); ok && n > 0 && stack[n-1].wantKey {
			stack[n-1].wantKey = false
			lastKey = s
			line := lineAt(b, skipSeparators(b, before))
			switch n {
			case 1:
				out[[2]string{"", s}] = line
			case 2:
				out[[2]string{stack[1].key, s}] = line
			}
			continue
		}
		if n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true // a scalar value: a key comes next
		}
	}
}

// skipSeparators moves off past whitespace, commas and colons.
func skipSeparators(b []byte, off int64) int64 {
	for off < int64(len(b)) && bytes.IndexByte([]byte(" \t\r\n,:"), b[off]) >= 0 {
		off++
	}
	return off
}

// lineAt is the 1-based line of byte offset off.
func lineAt(b []byte, off int64) int {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	return bytes.Count(b[:off], []byte("\n")) + 1
}
