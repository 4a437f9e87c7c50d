package pipeline

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/nix-docker/nix-docker/internal/contract"
	"github.com/nix-docker/nix-docker/internal/nixbuild"
	"github.com/nix-docker/nix-docker/internal/project"
)

var (
	failedBuilder = regexp.MustCompile(`builder for '(/nix/store/[^']+\.drv)' failed`)
	// fileKey finds contract.FileAttr's value in a .drv file (ATerm:
	// ("name","value") pairs).
	fileKey = regexp.MustCompile(`\("` + regexp.QuoteMeta(contract.FileAttr) + `","((?:[^"\\]|\\.)*)"\)`)
)

// diagnose turns a failed nix-build into a diagnostic at the HCL
// declaration whose derivation failed: a file whose check refused it shows
// the tool's own message at the check. Other failures are returned as is.
func diagnose(p *project.Project, err error) error {
	var be *nixbuild.BuildError
	if !errors.As(err, &be) {
		return err
	}
	for _, m := range failedBuilder.FindAllStringSubmatch(be.Output, -1) {
		drv, rerr := os.ReadFile(m[1])
		if rerr != nil {
			continue
		}
		k := fileKey.FindSubmatch(drv)
		if k == nil {
			continue
		}
		key := string(k[1])
		for _, f := range p.Files {
			if f.Key != key {
				continue
			}
			subject, what := f.DeclRange, "Building file"
			if f.Check != "" {
				subject, what = f.CheckRange, "The check of file"
			}
			return &Error{Diags: hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Configuration check failed",
				Detail:   fmt.Sprintf("%s %q (%s) failed; the tool said:\n%s", what, f.Key, f.Name, toolOutput(be.Output, m[1])),
				Subject:  subject.Ptr(),
			}}}
		}
	}
	return err
}

// toolOutput is what the failed builder printed: Nix's log lines for it,
// without Nix's own summary lines.
func toolOutput(out, drv string) string {
	var lines []string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "building '"+drv+"'"):
			in = true
			continue
		case strings.HasPrefix(line, "building '"), strings.HasPrefix(line, "error: "):
			in = false
		}
		if in && strings.TrimSpace(line) != "" {
			lines = append(lines, "  "+line)
		}
	}
	if len(lines) == 0 {
		return "  (no output; see the Nix log above)"
	}
	return strings.Join(lines, "\n")
}
