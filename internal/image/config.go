package image

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// The image config, as in the OCI image spec and Docker's image JSON.
// Fields are in sorted key order and maps are sorted by encoding/json, so
// the bytes (and the image ID) depend only on the content.
type configFile struct {
	Architecture string          `json:"architecture"`
	Config       containerConfig `json:"config"`
	Created      string          `json:"created"`
	History      []history       `json:"history"`
	OS           string          `json:"os"`
	RootFS       rootFS          `json:"rootfs"`
	Variant      string          `json:"variant,omitempty"`
}

type containerConfig struct {
	Cmd          []string            `json:"Cmd,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Healthcheck  *healthConfig       `json:"Healthcheck,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
	Volumes      map[string]struct{} `json:"Volumes,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
}

// healthConfig is Docker's HEALTHCHECK; durations in nanoseconds.
type healthConfig struct {
	Interval    int64    `json:"Interval,omitempty"`
	Retries     int      `json:"Retries,omitempty"`
	StartPeriod int64    `json:"StartPeriod,omitempty"`
	Test        []string `json:"Test"`
	Timeout     int64    `json:"Timeout,omitempty"`
}

type history struct {
	Created   string `json:"created"`
	CreatedBy string `json:"created_by"`
}

type rootFS struct {
	DiffIDs []string `json:"diff_ids"`
	Type    string   `json:"type"`
}

func healthcheck(h *Healthcheck) *healthConfig {
	if h == nil {
		return nil
	}
	return &healthConfig{
		Test:        append([]string{"CMD"}, h.Command...),
		Interval:    int64(h.Interval),
		Timeout:     int64(h.Timeout),
		StartPeriod: int64(h.StartPeriod),
		Retries:     h.Retries,
	}
}

// created returns the creation time written into the config.
func created(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(1, 0)
	}
	return t.UTC().Format(time.RFC3339)
}

func set(items []string) map[string]struct{} {
	if len(items) == 0 {
		return nil
	}
	m := make(map[string]struct{}, len(items))
	for _, s := range items {
		m[s] = struct{}{}
	}
	return m
}

// createdBy describes a layer in the image history, briefly.
func createdBy(l Layer) string {
	if l.Base {
		return "nix-docker: base image layer"
	}
	prefix := "nix-docker: "
	if l.Extra && len(l.Paths) > 0 {
		prefix = "nix-docker: the root filesystem and "
	}
	switch len(l.Paths) {
	case 0:
		return "nix-docker: root filesystem"
	case 1:
		return prefix + l.Paths[0]
	default:
		names := make([]string, len(l.Paths))
		for i, p := range l.Paths {
			names[i] = path.Base(p)
		}
		sort.Strings(names)
		s := fmt.Sprintf("%s%d store paths: %s", prefix, len(names), strings.Join(names, " "))
		if len(s) > 200 {
			s = s[:197] + "..."
		}
		return s
	}
}

func configJSON(spec Spec, layers []Layer) ([]byte, error) {
	for _, p := range spec.ExposedPorts {
		if !strings.Contains(p, "/") {
			return nil, fmt.Errorf("exposed port %q has no protocol (want e.g. %q)", p, p+"/tcp")
		}
	}
	if spec.Platform.Architecture == "" || spec.Platform.OS == "" {
		return nil, fmt.Errorf("the image's platform (architecture and OS) is not set")
	}
	when := created(spec.Created)
	cfg := configFile{
		Architecture: spec.Platform.Architecture,
		Variant:      spec.Platform.Variant,
		Config: containerConfig{
			Cmd:          spec.Cmd,
			Entrypoint:   spec.Entrypoint,
			Env:          spec.Env,
			ExposedPorts: set(spec.ExposedPorts),
			Healthcheck:  healthcheck(spec.Healthcheck),
			Labels:       spec.Labels,
			Volumes:      set(spec.Volumes),
			WorkingDir:   spec.WorkingDir,
		},
		Created: when,
		OS:      spec.Platform.OS,
		RootFS:  rootFS{Type: "layers"},
	}
	if len(cfg.Config.Labels) == 0 {
		cfg.Config.Labels = nil
	}
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.DiffID)
		cfg.History = append(cfg.History, history{Created: when, CreatedBy: createdBy(l)})
	}
	return json.Marshal(cfg)
}
