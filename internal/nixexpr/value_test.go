package nixexpr

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/contract"
	"github.com/nix-docker/nix-docker/internal/testutil"
)

// TestEntryValue proves with the real Nix that an entry rendered by
// entryValue becomes, through builtins.toJSON, the JSON that
// contract.FileEntry marshals to: the attribute names are the type's.
func TestEntryValue(t *testing.T) {
	testutil.NeedNix(t)
	entries := []contract.FileEntry{
		{Path: "", From: "textPath", Mode: 0o444},
		{Path: "etc/passwd", From: "passwdPath", Mode: 0o444},
		{Path: "bin/x y\"z", From: "runPath", Mode: 0o555},
		{Path: "init", Link: nixVar("init")},
		{Path: "plain", Link: "/some/where"},
	}
	var expr strings.Builder
	expr.WriteString("let init = \"/nix/store/00000000000000000000000000000000-init\"; in builtins.toJSON [\n")
	for _, e := range entries {
		expr.WriteString("  " + entryValue(e) + "\n")
	}
	expr.WriteString("]\n")
	cmd := exec.Command("nix-instantiate", "--eval", "--strict", "--json", "-E", expr.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-instantiate: %v\n%s\n%s", err, stderr.String(), expr.String())
	}
	var got string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("reading %q: %v", out, err)
	}
	// Decoded as the init decodes it: unknown attribute names fail.
	var decoded []contract.FileEntry
	dec := json.NewDecoder(strings.NewReader(got))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&decoded); err != nil {
		t.Fatalf("decoding builtins.toJSON of the rendered entries (%s): %v", got, err)
	}
	entries[3].Link = "/nix/store/00000000000000000000000000000000-init"
	if !reflect.DeepEqual(decoded, entries) {
		t.Errorf("builtins.toJSON of the rendered entries = %+v, want %+v", decoded, entries)
	}
}
