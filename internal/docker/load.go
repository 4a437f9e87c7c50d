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
	ImageRemove(ctx context.Context, imageID string, opts image.RemoveOptions) ([]image.DeleteResponse, error)
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

// LoadOptions say how Load sends an image.
type LoadOptions struct {
	// Holders are images (names or IDs) whose layers the engine holds,
	// such as the image the tag names now and the --from base. The
	// longest bottom of the image that one of them shares is left out of
	// the archive.
	Holders []string
	// Full sends every layer: for engines that refuse a partial archive.
	Full bool
	// Expect is what the engine must hold afterwards; its ConfigDigest
	// and DiffIDs default to the archive's.
	Expect Expect
	// Ledger is read for the layers of every image nix-docker built in
	// the engine (Holdings), which may hold the image's bottom too, and
	// records the loaded image. The zero Ledger keeps none.
	Ledger Ledger
}

// Result says what Load did.
type Result struct {
	// ImageID is the engine's ID for the image, checked against the plan.
	ImageID string
	// Ref is the temporary name (under TempRepository) the engine holds
	// the image under, for the caller to tag from and then remove; ""
	// when the engine held the image already (tag it by ImageID).
	Ref           string
	BytesSent     int64 // archive bytes sent to the engine, over all attempts
	LayersSent    int   // layer tars in the archive that was accepted
	LayersSkipped int   // layers left out because the engine held them
	AlreadyLoaded bool  // the engine held the image already; nothing was sent
	// Tags are the names the engine gave the image it held already
	// (AlreadyLoaded), so that a tag naming it already need not move.
	Tags []string
	// FullFallback tells that a partial archive failed and the full one
	// was sent; Retried says how the partial one failed (refused, or
	// accepted but not the planned image).
	FullFallback bool
	Retried      string
}

// Load sends img to the engine as a docker-archive under a temporary name
// and checks what the engine then holds against the plan (Verify). It
// tags nothing: the caller points its tag at Result.Ref (or ImageID) once
// every output has the image, and removes Ref.
//
// Unless opts.Full, it leaves out of the archive the longest bottom of
// img's layers that one of opts.Holders or one of the images nix-docker
// built in the engine (Holdings) shares: the engine reuses a layer only
// with the same layers below it. If the engine refuses the partial
// archive (the containerd store and Podman do), or accepts it but then
// holds something else than the plan (the containerd store may, printing
// "Error unpacking image"), Load sends the full archive and checks again;
// if that fails too, the image is removed and Load fails.
func Load(ctx context.Context, c Client, img Archive, opts LoadOptions) (Result, error) {
	var res Result
	want := opts.Expect
	if want.ConfigDigest == "" {
		want.ConfigDigest = img.ID()
	}
	if want.DiffIDs == nil {
		want.DiffIDs = img.DiffIDs()
	}
	if got, err := c.ImageInspect(ctx, img.ID()); err == nil {
		if id, err := verifyImage(got, img.ID(), want); err == nil {
			res.ImageID, res.AlreadyLoaded, res.LayersSkipped, res.Tags = id, true, len(want.DiffIDs), got.RepoTags
			opts.Ledger.Record(id, want.DiffIDs)
			return res, nil
		}
	} else if !isNotFound(err) {
		return res, fmt.Errorf("inspecting image %s: %w", img.ID(), err)
	}
	skip := 0
	if !opts.Full {
		var err error
		if skip, err = heldPrefix(ctx, c, opts.Ledger, opts.Holders, want.DiffIDs); err != nil {
			return res, err
		}
	}
	err := loadVerified(ctx, c, img, skip, want, &res)
	if err != nil && skip > 0 && ctx.Err() == nil {
		res.FullFallback, res.Retried = true, err.Error()
		skip = 0
		if err = loadVerified(ctx, c, img, 0, want, &res); err != nil {
			err = fmt.Errorf("%w (the partial archive failed before: %s)", err, res.Retried)
		}
	}
	if err != nil {
		return res, err
	}
	res.LayersSkipped = skip
	res.LayersSent = len(want.DiffIDs) - skip
	opts.Ledger.Record(res.ImageID, want.DiffIDs)
	return res, nil
}

// heldPrefix is the longest bottom of diffIDs that one of the holders or
// one of the images nix-docker built in the engine shares.
func heldPrefix(ctx context.Context, c Client, ledger Ledger, holders []string, diffIDs []string) (int, error) {
	chains, err := Holdings(ctx, c, ledger)
	if err != nil {
		return 0, err
	}
	skip := 0
	for _, chain := range chains {
		if n := commonPrefix(chain, diffIDs); n > skip {
			skip = n
		}
	}
	for _, ref := range holders {
		got, err := c.ImageInspect(ctx, ref)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return 0, fmt.Errorf("inspecting image %s: %w", ref, err)
		}
		if n := commonPrefix(got.RootFS.Layers, diffIDs); n > skip {
			skip = n
		}
	}
	return skip, nil
}

// loadVerified loads the archive without its first skip layers under a
// fresh temporary name and verifies the result, recording it in res. On
// failure it removes the temporary name again.
func loadVerified(ctx context.Context, c Client, img Archive, skip int, want Expect, res *Result) error {
	ref := TempRepository + ":" + TempTag(img.ID())
	named, sent, err := loadOnce(ctx, c, img, skip, ref)
	res.BytesSent += sent
	if err == nil {
		res.ImageID, res.Ref, err = findLoaded(ctx, c, ref, named, want)
	}
	if err != nil {
		// The engine may have named what it could not finish.
		RemoveRef(context.WithoutCancel(ctx), c, ref)
		res.ImageID, res.Ref = "", ""
	}
	return err
}

// findLoaded finds the image a load made, by the name it was loaded
// under, or else by the name or ID the engine reported (an engine may
// drop the archive's names), and verifies it. It returns the verified ID
// and the temporary name to tag from ("" if the engine did not keep it).
func findLoaded(ctx context.Context, c Inspector, ref string, named []string, want Expect) (string, string, error) {
	id, err := Verify(ctx, c, ref, want)
	if err == nil {
		return id, ref, nil
	}
	if _, ierr := c.ImageInspect(ctx, ref); ierr == nil || !isNotFound(ierr) {
		return "", "", err // the engine has ref, and it is wrong
	}
	for _, n := range named {
		if id, nerr := Verify(ctx, c, n, want); nerr == nil {
			return id, "", nil
		}
	}
	return "", "", err
}

// loadOnce streams the archive, without its first skip layer tars and
// named ref, to the engine and reads the engine's answer. It returns the
// names and IDs the engine says it loaded and the bytes sent.
func loadOnce(ctx context.Context, c Client, img Archive, skip int, ref string) ([]string, int64, error) {
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
		n, err := img.WriteArchive(pw, []string{ref}, func(d string) bool { return omitted[d] })
		pw.CloseWithError(err)
		done <- written{n, err}
	}()
	resp, err := c.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if err != nil {
		pr.CloseWithError(err)
		w := <-done
		return nil, w.n, fmt.Errorf("loading image: %w", err)
	}
	named, streamErr := readLoadStream(resp.Body)
	resp.Body.Close()
	// If the engine stopped reading early, unblock the writer.
	pr.CloseWithError(errors.New("engine closed the load request"))
	w := <-done
	if streamErr != nil {
		return nil, w.n, fmt.Errorf("loading image: %w", streamErr)
	}
	if w.err != nil {
		return nil, w.n, fmt.Errorf("writing image archive: %w", w.err)
	}
	return named, w.n, nil
}

// readLoadStream decodes the engine's JSON message stream, which reports
// failures inside an HTTP 200 response, and returns the names and IDs
// the engine says it loaded ("Loaded image: NAME", "Loaded image ID: ID").
// A line "Error unpacking image" is a failure too: the containerd store
// prints it when it registered an image it could not unpack, and still
// reports success.
func readLoadStream(r io.Reader) ([]string, error) {
	type message struct {
		Stream      string `json:"stream"`
		Status      string `json:"status"`
		Error       string `json:"error"`
		ErrorDetail *struct {
			Message string `json:"message"`
		} `json:"errorDetail"`
	}
	var named []string
	dec := json.NewDecoder(r)
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			return named, nil
		} else if err != nil {
			return nil, fmt.Errorf("reading the engine's answer: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return nil, errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return nil, errors.New(m.Error)
		}
		for _, line := range strings.Split(m.Stream+"\n"+m.Status, "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "Error unpacking image") {
				return nil, errors.New(line)
			}
			if rest, ok := strings.CutPrefix(line, "Loaded image ID: "); ok {
				named = append(named, strings.TrimSpace(rest))
			} else if rest, ok := strings.CutPrefix(line, "Loaded image: "); ok {
				named = append(named, strings.TrimSpace(rest))
			}
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

// isNotFound reports whether err is the engine's "no such image".
func isNotFound(err error) bool {
	return cerrdefs.IsNotFound(err)
}
