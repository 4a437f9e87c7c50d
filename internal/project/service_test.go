package project

import (
	"testing"

	"github.com/nix-docker/nix-docker/schema"
)

// TestServiceAttributes keeps the schema's service attributes and the
// decoders equal: an attribute the schema accepts is read.
func TestServiceAttributes(t *testing.T) {
	names := map[string]bool{}
	for _, a := range schema.ServiceAttributes {
		names[a.Name] = true
		if serviceAttrs[a.Name] == nil {
			t.Errorf("service attribute %q has no decoder in serviceAttrs", a.Name)
		}
	}
	for name := range serviceAttrs {
		if !names[name] {
			t.Errorf("serviceAttrs decodes %q, which schema.ServiceAttributes lacks", name)
		}
	}
}
