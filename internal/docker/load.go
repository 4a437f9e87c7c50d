package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// Client is the part of the Engine API the loader uses. *client.Client
// satisfies it; tests use a fake.
type Client interface {
	ImageInspect(ctx context.Context, imageID string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageList(ctx context.Context, opts image.ListOptions) ([]image.Summary, error)
	ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (image.LoadResponse, error)
	ImageTag(ctx context.Context, source, target string) error
}

var _ Client = (*client.Client)(nil)

// Archive is an image that can write itself as a docker-archive (package
// image's *Image is one).
type Archive interface {
	// ID is the image ID, "sha256:<hex>" of the config.
	ID() string
	// DiffIDs are the layer digests, bottom to top.
	DiffIDs() []string
	// WriteArchive writes the docker-archive to w, leaving out the layer
	// tars for which omit returns true, and returns the bytes written.
	WriteArchive(w io.Writer, repoTags []string, omit func(diffID string) bool) (int64, error)
}

// New connects to the engine named by the environment (DOCKER_HOST and
// friends), negotiating the API version so that older engines (20.10, API
// 1.41) answer.
func New() (*client.Client, error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("connecting to the Docker engine: %w", err)
	}
	return c, nil
}

// Result says what Load did.
type Result struct {
	ImageID       string // the ID the engine reports for the loaded image
	BytesSent     int64  // archive bytes sent to the engine, over all attempts
	LayersSent    int    // layer tars in the archive that was accepted
	LayersSkipped int    // layers left out because the engine held them
	FullFallback  bool   // the engine refused a partial archive; a full one was sent
	AlreadyLoaded bool   // the engine held the image already; nothing was sent
}

// Load sends img to the engine and points tag at it (no tag when tag is
// "").
//
// It first finds which layers the engine holds: those of every image
// nix-docker built there, whatever its tag (Holdings, with the default
// ledger), of the image tag currently names and of each image in bases
// (IDs or references). The longest prefix of img's layers equal to the
// bottom of one of those images is left out of the archive: the engine
// reuses a layer only with the same layers below it. If the engine
// refuses the partial archive (the containerd image store does), Load
// sends the full one.
//
// The archive is loaded untagged and the tag is set afterwards, so a
// failed load never moves the tag.
func Load(ctx context.Context, c Client, img Archive, tag string, bases []string) (Result, error) {
	return DefaultLedger().Load(ctx, c, img, tag, bases)
}

// Load is Load with the ledger l, which it reads for the engine's holdings
// and where it records the loaded image.
func (l Ledger) Load(ctx context.Context, c Client, img Archive, tag string, bases []string) (Result, error) {
	var res Result
	diffIDs := img.DiffIDs()

	if got, err := c.ImageInspect(ctx, img.ID()); err == nil && sameLayers(got.RootFS.Layers, diffIDs) {
		res.ImageID = got.ID
		res.AlreadyLoaded = true
		res.LayersSkipped = len(diffIDs)
		l.Record(got.ID, diffIDs)
		return res, setTag(ctx, c, res.ImageID, tag)
	} else if err != nil && !isNotFound(err) {
		return res, fmt.Errorf("inspecting image %s: %w", img.ID(), err)
	}

	chains, err := Holdings(ctx, c, l)
	if err != nil {
		return res, err
	}
	skip := 0
	for _, chain := range chains {
		if n := commonPrefix(chain, diffIDs); n > skip {
			skip = n
		}
	}
	refs := append([]string(nil), bases...)
	if tag != "" {
		refs = append([]string{tag}, refs...)
	}
	for _, ref := range refs {
		got, err := c.ImageInspect(ctx, ref)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return res, fmt.Errorf("inspecting image %s: %w", ref, err)
		}
		if n := commonPrefix(got.RootFS.Layers, diffIDs); n > skip {
			skip = n
		}
	}
	id, sent, err := loadOnce(ctx, c, img, skip)
	res.BytesSent += sent
	if err != nil && skip > 0 && ctx.Err() == nil {
		partialErr := err
		res.FullFallback = true
		skip = 0
		id, sent, err = loadOnce(ctx, c, img, 0)
		res.BytesSent += sent
		if err != nil {
			err = fmt.Errorf("%w (the partial archive failed before: %v)", err, partialErr)
		}
	}
	if err != nil {
		return res, err
	}
	res.LayersSkipped = skip
	res.LayersSent = len(diffIDs) - skip
	if id == "" {
		id = img.ID()
	}
	res.ImageID = id
	l.Record(id, diffIDs)
	return res, setTag(ctx, c, id, tag)
}

func setTag(ctx context.Context, c Client, id, tag string) error {
	if tag == "" {
		return nil
	}
	if err := c.ImageTag(ctx, id, tag); err != nil {
		return fmt.Errorf("tagging %s as %s: %w", id, tag, err)
	}
	return nil
}

// loadOnce streams the archive, without its first skip layer tars, to the
// engine and reads the engine's answer. It returns the image ID the engine
// reports and the bytes sent.
func loadOnce(ctx context.Context, c Client, img Archive, skip int) (string, int64, error) {
	omitted := map[string]bool{}
	for _, d := range img.DiffIDs()[:skip] {
		omitted[d] = true
	}
	pr, pw := io.Pipe()
	type written struct {
		n   int64
		err error
	}
	done := make(chan written, 1)
	go func() {
		n, err := img.WriteArchive(pw, nil, func(d string) bool { return omitted[d] })
		pw.CloseWithError(err)
		done <- written{n, err}
	}()
	resp, err := c.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if err != nil {
		pr.CloseWithError(err)
		w := <-done
		return "", w.n, fmt.Errorf("loading image: %w", err)
	}
	id, streamErr := readLoadStream(resp.Body)
	resp.Body.Close()
	// If the engine stopped reading early, unblock the writer.
	pr.CloseWithError(errors.New("engine closed the load request"))
	w := <-done
	if streamErr != nil {
		return "", w.n, fmt.Errorf("loading image: %w", streamErr)
	}
	if w.err != nil {
		return "", w.n, fmt.Errorf("writing image archive: %w", w.err)
	}
	return id, w.n, nil
}

// readLoadStream decodes the engine's JSON message stream, which reports
// failures inside an HTTP 200 response, and returns the loaded image ID.
func readLoadStream(r io.Reader) (string, error) {
	type message struct {
		Stream      string `json:"stream"`
		Status      string `json:"status"`
		Error       string `json:"error"`
		ErrorDetail *struct {
			Message string `json:"message"`
		} `json:"errorDetail"`
	}
	var id string
	dec := json.NewDecoder(r)
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			return id, nil
		} else if err != nil {
			return "", fmt.Errorf("reading the engine's answer: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return "", errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return "", errors.New(m.Error)
		}
		text := strings.TrimSpace(m.Stream + m.Status)
		if rest, ok := strings.CutPrefix(text, "Loaded image ID: "); ok {
			id = strings.TrimSpace(rest)
		}
	}
}

// commonPrefix is the number of leading layers a and b share.
func commonPrefix(a, b []string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func sameLayers(a, b []string) bool {
	return len(a) == len(b) && commonPrefix(a, b) == len(a)
}

// isNotFound reports whether err is the engine's "no such image".
func isNotFound(err error) bool {
	return cerrdefs.IsNotFound(err)
}
