package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := func(rev, tm, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: tm}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "7d92657321fbae2236922eefcdd20dbbc5ccc397"
	tests := []struct {
		name     string
		bi       debug.BuildInfo
		want     Info
		wantLine string
	}{
		{
			name:     "checkout build",
			bi:       debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261201193627-7d92657321fb"}, Settings: vcs(rev, "2026-12-01T19:36:27Z", "false")},
			want:     Info{Version: "v0.0.0-20261201193627-7d92657321fb", Revision: rev, Time: "2026-12-01T19:36:27Z", GoVersion: "go1.26.0"},
			wantLine: "nix-docker v0.0.0-20261201193627-7d92657321fb, commit " + rev + " (2026-12-01T19:36:27Z), go1.26.0",
		},
		{
			name:     "checkout build with changes",
			bi:       debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261201193627-7d92657321fb+dirty"}, Settings: vcs(rev, "2026-12-01T19:36:27Z", "true")},
			want:     Info{Version: "v0.0.0-20261201193627-7d92657321fb+dirty", Revision: rev, Time: "2026-12-01T19:36:27Z", Modified: true, GoVersion: "go1.26.0"},
			wantLine: "(2026-12-01T19:36:27Z, with uncommitted changes)",
		},
		{
			name:     "go install of a tag",
			bi:       debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}},
			want:     Info{Version: "v1.2.3", GoVersion: "go1.26.0"},
			wantLine: "nix-docker v1.2.3, commit unknown",
		},
		{
			name:     "go install of a commit",
			bi:       debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261201193627-7d92657321fb"}},
			want:     Info{Version: "v0.0.0-20261201193627-7d92657321fb", Revision: "7d92657321fb", GoVersion: "go1.26.0"},
			wantLine: "nix-docker v0.0.0-20261201193627-7d92657321fb, commit 7d92657321fb, go1.26.0",
		},
		{
			name:     "go install of a commit after a tag",
			bi:       debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.4-0.20261201193627-7d92657321fb"}},
			want:     Info{Version: "v1.2.4-0.20261201193627-7d92657321fb", Revision: "7d92657321fb", GoVersion: "go1.26.0"},
			wantLine: "commit 7d92657321fb,",
		},
		{
			name:     "no vcs information",
			bi:       debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			want:     Info{Version: "(devel)", GoVersion: "go1.26.0"},
			wantLine: "nix-docker (devel), commit unknown (built outside a git checkout, or with -buildvcs=false), go1.26.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromBuildInfo(&tt.bi)
			if got != tt.want {
				t.Errorf("FromBuildInfo() = %+v, want %+v", got, tt.want)
			}
			if line := got.String(); !strings.Contains(line, tt.wantLine) {
				t.Errorf("String() = %q, want it to contain %q", line, tt.wantLine)
			}
		})
	}
}

func TestRead(t *testing.T) {
	// A test binary has build information; its main module is this one.
	if got := Read(); got.GoVersion == "" || got.Version == "" {
		t.Errorf("Read() = %+v, want a Go version and a module version", got)
	}
}
