package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
)

// Puller is the part of the Engine API Pull uses: Docker's pull, and the
// HTTP connection for Podman's own (libpod) pull, which takes per-request
// TLS settings where Docker's compatible one does not.
type Puller interface {
	ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error)
	HTTPClient() *http.Client
	DaemonHost() string
}

// Credentials are a registry's user name and password.
type Credentials struct {
	Username, Password string
	ServerAddress      string // the registry's host:port
}

func (c Credentials) header() (string, error) {
	return registry.EncodeAuthConfig(registry.AuthConfig{Username: c.Username, Password: c.Password, ServerAddress: c.ServerAddress})
}

// Pull has the engine pull ref, an image on a plain-HTTP registry on this
// machine's loopback, with creds. Docker treats registries on
// 127.0.0.0/8 as plain HTTP by default; Podman verifies TLS unless told
// otherwise, so it is told, for this request only (the libpod API's
// tlsVerify=false), and no configuration of the machine changes.
func Pull(ctx context.Context, c Puller, e Engine, ref string, creds Credentials) error {
	auth, err := creds.header()
	if err != nil {
		return err
	}
	if e.Store == StorePodman {
		return podmanPull(ctx, c, e, ref, auth)
	}
	rc, err := c.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("pulling %s: %w", ref, err)
	}
	defer rc.Close()
	if err := readPullStream(rc); err != nil {
		return fmt.Errorf("pulling %s: %w", ref, err)
	}
	return nil
}

// readPullStream reads Docker's and Podman's pull progress messages and
// returns the error one of them carries.
func readPullStream(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the engine's answer: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}

var podmanVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// podmanPull pulls through Podman's libpod API, the Docker-compatible
// one having no way to skip TLS for one request.
func podmanPull(ctx context.Context, c Puller, e Engine, ref, auth string) error {
	base, err := apiBase(c.DaemonHost())
	if err != nil {
		return err
	}
	version := "4.0.0" // the first libpod API with this endpoint's parameters
	if podmanVersion.MatchString(e.Version) {
		version = e.Version
	}
	q := url.Values{"reference": {ref}, "tlsVerify": {"false"}, "quiet": {"true"}, "policy": {"always"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v"+version+"/libpod/images/pull?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set(registry.AuthHeader, auth)
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		return fmt.Errorf("pulling %s: %w", ref, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var m struct{ Message string }
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if json.Unmarshal(b, &m) != nil || m.Message == "" {
			m.Message = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("pulling %s: %s: %s", ref, resp.Status, m.Message)
	}
	if err := readPullStream(resp.Body); err != nil {
		return fmt.Errorf("pulling %s: %w", ref, err)
	}
	return nil
}

// apiBase is the URL prefix for requests made on the engine client's HTTP
// connection: for a socket the host part is a placeholder (the client's
// transport dials the socket), for TCP it is the engine's address.
func apiBase(host string) (string, error) {
	u, err := url.Parse(host)
	if err != nil {
		return "", fmt.Errorf("the engine's address %q: %w", host, err)
	}
	switch u.Scheme {
	case "unix", "npipe":
		return "http://engine", nil
	case "tcp", "http":
		return "http://" + u.Host, nil
	case "https":
		return "https://" + u.Host, nil
	}
	return "", fmt.Errorf("cannot reach Podman's own API over %s://", u.Scheme)
}
