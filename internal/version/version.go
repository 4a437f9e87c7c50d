package version

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
)

// Info is what the build recorded about this binary.
type Info struct {
	Version   string // module version: a tag, a pseudo-version, or "(devel)"
	Revision  string // commit hash, "" when unknown
	Time      string // commit time (RFC 3339), "" when unknown
	Modified  bool   // the checkout had uncommitted changes
	GoVersion string // the Go toolchain that built it
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(unknown)", GoVersion: runtime.Version()}
	}
	return FromBuildInfo(bi)
}

// pseudo matches a pseudo-version's last two parts: the commit time and
// the 12-digit commit prefix (v0.0.0-20260101120000-abcdef123456).
var pseudo = regexp.MustCompile(`[-.](\d{14})-([0-9a-f]{12})(\+dirty)?$`)

// FromBuildInfo extracts Info from Go's build information.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if info.Version == "" {
		info.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	// `go install module@version` records no vcs settings, but a
	// pseudo-version carries the commit's prefix.
	if m := pseudo.FindStringSubmatch(info.Version); info.Revision == "" && m != nil {
		info.Revision = m[2]
		info.Modified = info.Modified || m[3] != ""
	}
	return info
}

// String is the line `nix-docker version` prints, for example
//
//	nix-docker v0.0.0-20260101120000-abcdef123456, commit abcdef1234567890... (2026-01-01T12:00:00Z), go1.26.0
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nix-docker %s", i.Version)
	switch {
	case i.Revision == "":
		b.WriteString(", commit unknown (built outside a git checkout, or with -buildvcs=false)")
	default:
		fmt.Fprintf(&b, ", commit %s", i.Revision)
		var notes []string
		if i.Time != "" {
			notes = append(notes, i.Time)
		}
		if i.Modified {
			notes = append(notes, "with uncommitted changes")
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
		}
	}
	if i.GoVersion != "" {
		fmt.Fprintf(&b, ", %s", i.GoVersion)
	}
	return b.String()
}
