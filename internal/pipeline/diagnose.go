package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/nix-docker/nix-docker/internal/contract"
	"github.com/nix-docker/nix-docker/internal/nixbuild"
	"github.com/nix-docker/nix-docker/internal/project"
)

var (
	failedBuilder = regexp.MustCompile(`builder for '(/nix/store/[^']+\.drv)' failed`)
	// failedDrv finds every derivation Nix names in a failure: the one
	// whose builder failed, a fixed-output one whose hash did not match,
	// and each one whose dependencies failed, up to the system path.
	failedDrv = regexp.MustCompile(`(?:builder for|fixed-output derivation|dependencies of derivation|cannot build derivation) '(/nix/store/[^']+\.drv)'`)
	// fileKey finds contract.FileAttr's value in a .drv file (ATerm:
	// ("name","value") pairs).
	fileKey = regexp.MustCompile(`\("` + regexp.QuoteMeta(contract.FileAttr) + `","((?:[^"\\]|\\.)*)"\)`)
	// moduleKey finds contract.ModuleAttr's value in a .drv file.
	moduleKey = regexp.MustCompile(`\("` + regexp.QuoteMeta(contract.ModuleAttr) + `","((?:[^"\\]|\\.)*)"\)`)
)

// diagnose turns a failed nix-build into a diagnostic at the HCL
// declaration whose derivation failed: a file whose check refused it shows
// the tool's own message at the check; a derivation a module instance
// builds (node_modules), or one it depends on (a package's tarball), is
// reported at the instance's module block with what the failed builder
// said. Other failures are returned as is.
func diagnose(p *project.Project, err error) error {
	var be *nixbuild.BuildError
	if !errors.As(err, &be) {
		return err
	}
	if d := diagnoseFile(p, be); d != nil {
		return d
	}
	if d := diagnoseModule(p, be); d != nil {
		return d
	}
	return err
}

// diagnoseModule finds a module instance's derivation among the failed
// ones and reports the failure at the instance's block.
func diagnoseModule(p *project.Project, be *nixbuild.BuildError) error {
	for _, m := range failedDrv.FindAllStringSubmatch(be.Output, -1) {
		drv, rerr := os.ReadFile(m[1])
		if rerr != nil {
			continue
		}
		k := moduleKey.FindSubmatch(drv)
		if k == nil {
			continue
		}
		mod := p.Module(string(k[1]))
		if mod == nil {
			continue
		}
		failed := m[1]
		if b := failedBuilder.FindStringSubmatch(be.Output); b != nil {
			failed = b[1]
		}
		return &Error{Diags: hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Building module failed",
			Detail:   fmt.Sprintf("Module %q (%s): building %s failed; the build said:\n%s", mod.Name, strings.TrimPrefix(mod.Source, "builtin:"), storeName(failed), toolOutput(be.Output, failed)),
			Subject:  mod.DeclRange.Ptr(),
		}}}
	}
	return nil
}

// storeName is a store path's name without the hash and the .drv.
func storeName(drv string) string {
	base := strings.TrimSuffix(filepath.Base(drv), ".drv")
	if _, name, ok := strings.Cut(base, "-"); ok {
		return name
	}
	return base
}

// diagnoseFile finds a generated file's derivation among the failed ones.
func diagnoseFile(p *project.Project, be *nixbuild.BuildError) error {
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
	return nil
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
