package output

import (
	"context"
	"fmt"

	"github.com/nix-docker/nix-docker/internal/image"
)

// Output is one destination of a finished image.
type Output interface {
	// Name names the output in messages: "engine", "docker-archive", "oci".
	Name() string
	// NeedsBaseLayers tells whether Deliver reads the tars of a base
	// image's layers (--from). A file holds every layer; the engine has
	// the base's layers already, so the pipeline need not fetch them.
	NeedsBaseLayers() bool
	// Deliver sends img without making it visible under its name. On
	// error it leaves nothing behind.
	Deliver(ctx context.Context, img *image.Image) (Report, error)
	// Commit makes the delivered image visible: it moves the tag, or
	// renames the file into place.
	Commit(ctx context.Context) error
	// Abort removes what Deliver left, when another output failed.
	Abort()
}

// Report says what one output did, for the command line to print as
// "<Summary> in <time>: <Detail>".
type Report struct {
	Output  string // the output's Name
	ImageID string // the image's ID at the destination
	Summary string // such as "loaded sha256:... as user/app"
	Detail  string // the figures, such as "3 layers sent (1.2 MiB), 5 already in the engine"

	LayersSent    int   // layer tars sent or written
	LayersSkipped int   // layers left out because the destination held them
	LayersMounted int   // layers a registry took from another of its repositories
	BytesSent     int64 // bytes sent or written
	// Fallback says in words what the output fell back to; "" when it
	// took its first way.
	Fallback string
}

// Layers renders a layer count for people: 1 layer, 0 layers, 3 layers.
func Layers(n int) string {
	if n == 1 {
		return "1 layer"
	}
	return fmt.Sprintf("%d layers", n)
}

// ByteSize renders a byte count for people: 187.2 MiB, 48.0 KiB, 222 B.
func ByteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
