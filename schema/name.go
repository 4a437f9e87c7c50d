package schema

import (
	"fmt"
	"strings"
)

// MaxName is the longest name a label may hold: 32 bytes, what useradd
// allows for user and group names, and the same for every kind.
const MaxName = 32

// reserved are the names a kind of block may not take, and why.
var reserved = map[string]map[string]string{
	// The init's control socket takes `all` for every service
	// (nix-docker-init ctl restart all); a module instance named `all`
	// would name its main service so.
	"service": {"all": "the init's control commands use \"all\" for every service"},
	"module":  {"all": "a module's main service takes the instance's name, and the init's control commands use \"all\" for every service"},
}

// CheckName checks the label of a block of the given kind (service,
// module, user, group, directory, file, option) against the one rule for
// names: a letter or an underscore, then letters, digits, underscores and
// dashes, at most MaxName bytes, no "--" (module instances join their
// names with one dash), and not a reserved name. Names become service
// names, log prefixes, account names in /etc/passwd and /etc/group, and
// parts of store path names; the rule keeps them safe in all of them.
func CheckName(kind, name string) error {
	if why, ok := reserved[kind][name]; ok {
		return fmt.Errorf("%q is reserved: %s. Choose another name.", name, why)
	}
	ok := name != "" && len(name) <= MaxName && !strings.Contains(name, "--")
	for i := 0; i < len(name) && ok; i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		ok = letter || i > 0 && (c >= '0' && c <= '9' || c == '-')
	}
	if !ok {
		return fmt.Errorf("A %s name starts with a letter or an underscore and holds only letters, digits, underscores and dashes (no \"--\"), at most %d of them; %q does not.", kind, MaxName, name)
	}
	return nil
}
