package image

import (
	"fmt"
	"strings"
)

// Platform is what an image runs on, as the OCI image config names it:
// "amd64", "linux", and a variant for some ARM architectures.
type Platform struct {
	Architecture string
	OS           string
	Variant      string
}

// nixArch maps the CPU part of a Nix system to the OCI architecture and
// variant (the names of Go's GOARCH, which the OCI image spec uses).
var nixArch = map[string]Platform{
	"x86_64":      {Architecture: "amd64"},
	"i686":        {Architecture: "386"},
	"aarch64":     {Architecture: "arm64", Variant: "v8"},
	"armv7l":      {Architecture: "arm", Variant: "v7"},
	"armv6l":      {Architecture: "arm", Variant: "v6"},
	"riscv64":     {Architecture: "riscv64"},
	"powerpc64le": {Architecture: "ppc64le"},
	"s390x":       {Architecture: "s390x"},
	"mips64el":    {Architecture: "mips64le"},
	"loongarch64": {Architecture: "loong64"},
}

// PlatformOf returns the platform of a Nix system such as "x86_64-linux"
// or "aarch64-linux". Images run Linux programs, so a system of another
// kernel (darwin) is an error.
func PlatformOf(system string) (Platform, error) {
	cpu, kernel, ok := strings.Cut(system, "-")
	if !ok || kernel != "linux" {
		return Platform{}, fmt.Errorf("the closure was built for the Nix system %q; an image needs a Linux system, such as x86_64-linux", system)
	}
	p, ok := nixArch[cpu]
	if !ok {
		return Platform{}, fmt.Errorf("the Nix system %q has a CPU type an image config has no name for", system)
	}
	p.OS = "linux"
	return p, nil
}
