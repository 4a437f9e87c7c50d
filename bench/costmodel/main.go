// Command costmodel measures what a Docker engine and a registry pay per
// layer and per byte, for docs/images.md's cost model.
//
// It splits a real closure (the webapp's, given as a system store path)
// into L layers for several L and several subsets of the closure, and for
// each image, in a shuffled order, times:
//
//   - load:    a docker-archive streamed to the Engine API (docker load)
//   - partial: the same image plus one new small layer on top, loaded as a
//     partial archive (every layer below is left out: the engine holds
//     them), as after a one-line change
//   - push:    `docker push` to a registry on 127.0.0.1 (the engine
//     compresses every layer and uploads it); a registry started for the
//     trial with empty storage, so that no blob is there already (blobs
//     are content-addressed per layer, not per chain)
//   - pull:    `docker pull` of it back after the image was removed
//
// Every image gets a unique bottom layer (a few random bytes), so that no
// layer chain (ChainID) is one the engine or the registry already holds:
// each trial pays the full price. It then fits T = a + b*layers + c*MiB
// to each kind by least squares and prints the trials and the constants.
//
// usage: costmodel -system /nix/store/...-nix-docker-system [-registry] [-runs 3]
//
// bench/costmodel.sh builds the webapp and runs it. -registry needs
// docker-registry (Debian's distribution) on the PATH.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	mrand "math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	dimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/image"
)

type config struct {
	subset string
	paths  []string
	bytes  int64
	layers int // store-path layers (the salt layer not counted)
}

type sample struct {
	layers int // layers the operation carried (salt included)
	mib    float64
	secs   float64
}

func main() {
	system := flag.String("system", "", "system store path whose closure is measured")
	registry := flag.Bool("registry", false, "also measure docker push and pull against a docker-registry on 127.0.0.1")
	runs := flag.Int("runs", 3, "repetitions of each configuration")
	flag.Parse()
	if *system == "" {
		fmt.Fprintln(os.Stderr, "usage: costmodel -system PATH [-registry] [-runs N]")
		os.Exit(2)
	}
	if err := run(*system, *registry, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "costmodel:", err)
		os.Exit(1)
	}
}

func run(system string, registry bool, runs int) error {
	ctx := context.Background()
	closure, err := closureOf(ctx, system)
	if err != nil {
		return err
	}
	cli, err := docker.New()
	if err != nil {
		return err
	}
	defer cli.Close()
	tmp, err := os.MkdirTemp("", "costmodel-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	configs := plan(closure)
	type trial struct {
		c   config
		run int
	}
	var trials []trial
	for r := 0; r < runs; r++ {
		for _, c := range configs {
			trials = append(trials, trial{c, r})
		}
	}
	mrand.New(mrand.NewSource(time.Now().UnixNano())).Shuffle(len(trials), func(i, j int) { trials[i], trials[j] = trials[j], trials[i] })

	results := map[string][]sample{} // kind -> samples
	perConfig := map[string]map[string][]float64{}
	for i, tr := range trials {
		fmt.Fprintf(os.Stderr, "trial %d/%d: %s in %d layers\n", i+1, len(trials), tr.c.subset, tr.c.layers)
		got, err := measure(ctx, cli, tr.c, tmp, registry, i)
		if err != nil {
			return err
		}
		key := fmt.Sprintf("%s/%d", tr.c.subset, tr.c.layers)
		if perConfig[key] == nil {
			perConfig[key] = map[string][]float64{}
		}
		for kind, s := range got {
			fmt.Fprintf(os.Stderr, "  %-8s layers %3d  %8.3f MiB  %6.2f s\n", kind, s.layers, s.mib, s.secs)
			results[kind] = append(results[kind], s)
			perConfig[key][kind] = append(perConfig[key][kind], s.secs)
		}
	}
	report(configs, perConfig, results, registry)
	return nil
}

// pathInfo is one store path of a closure, as `nix path-info --json`
// reports it.
type pathInfo struct {
	Path    string `json:"path"`
	NarSize int64  `json:"narSize"`
}

// closureOf lists the closure of a store path with its sizes.
func closureOf(ctx context.Context, path string) ([]pathInfo, error) {
	out, err := exec.CommandContext(ctx, "nix", "--extra-experimental-features", "nix-command", "path-info", "--json", "--recursive", path).Output()
	if err != nil {
		return nil, fmt.Errorf("nix path-info %s: %w", path, err)
	}
	var list []pathInfo
	if err := json.Unmarshal(out, &list); err != nil {
		// Nix 2.19 and later print an object keyed by path.
		var obj map[string]pathInfo
		if err2 := json.Unmarshal(out, &obj); err2 != nil {
			return nil, fmt.Errorf("reading nix path-info's output: %w", err)
		}
		for p, info := range obj {
			info.Path = p
			list = append(list, info)
		}
	}
	return list, nil
}

// plan chooses the subsets of the closure and the layer counts.
func plan(closure []pathInfo) []config {
	sort.Slice(closure, func(i, j int) bool { return closure[i].NarSize > closure[j].NarSize })
	var all, small []string
	var allBytes, smallBytes int64
	for i, p := range closure {
		all = append(all, p.Path)
		allBytes += p.NarSize
		if i >= 2 { // without the two largest paths (Node.js, ICU)
			small = append(small, p.Path)
			smallBytes += p.NarSize
		}
	}
	var out []config
	for _, s := range []struct {
		name  string
		paths []string
		bytes int64
	}{{"closure", all, allBytes}, {"small", small, smallBytes}} {
		for _, l := range []int{1, 4, 16, len(s.paths)} {
			out = append(out, config{subset: s.name, paths: s.paths, bytes: s.bytes, layers: l})
		}
	}
	return out
}

// groups deals paths, largest first, over n layers (round robin), so each
// layer holds a share of the bytes.
func groups(paths []string, n int) [][]string {
	out := make([][]string, n)
	for i, p := range paths {
		out[i%n] = append(out[i%n], p)
	}
	return out
}

// saltLayer writes a one-file layer tar with random content: the bottom
// layer that makes every chain above it new to the engine.
func saltLayer(dir string) (image.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := make([]byte, 16)
	rand.Read(data)
	hdr := &tar.Header{Name: "costmodel-salt", Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(1, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return image.Layer{}, err
	}
	tw.Write(data)
	tw.Close()
	sum := sha256.Sum256(buf.Bytes())
	file := filepath.Join(dir, "salt-"+hex.EncodeToString(data)+".tar")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		return image.Layer{}, err
	}
	return image.Layer{DiffID: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(buf.Len()), File: file}, nil
}

func build(c config, dir string, salt image.Layer, top []byte) (*image.Image, error) {
	spec := image.Spec{
		Layers:     groups(c.paths, c.layers),
		Base:       []image.Layer{salt},
		Entrypoint: []string{"/nonexistent"},
		Labels:     map[string]string{"org.nix-docker.bench": "costmodel"},
	}
	if top != nil {
		spec.Extra = []image.Entry{{Path: "/costmodel-top", Mode: 0o644, Data: top}}
	}
	return image.Build(spec, filepath.Join(dir, "cache"))
}

// measure runs one trial: load, partial load, push, pull.
func measure(ctx context.Context, cli *client.Client, c config, dir string, registry bool, n int) (map[string]sample, error) {
	out := map[string]sample{}
	salt, err := saltLayer(dir)
	if err != nil {
		return nil, err
	}
	img, err := build(c, dir, salt, nil)
	if err != nil {
		return nil, err
	}
	var ids []string
	defer func() {
		for _, id := range ids {
			cli.ImageRemove(ctx, id, dimage.RemoveOptions{Force: true, PruneChildren: true})
		}
	}()
	mib := float64(c.bytes) / (1 << 20)

	t0 := time.Now()
	res, err := docker.Load(ctx, cli, img, docker.LoadOptions{Ledger: docker.Ledger{Dir: filepath.Join(dir, "ledger")}})
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	out["load"] = sample{c.layers + 1, float64(res.BytesSent) / (1 << 20), time.Since(t0).Seconds()}
	ids = append(ids, res.ImageID)

	// A one-line change: one new small layer on top of held ones.
	topData := make([]byte, 32<<10)
	rand.Read(topData)
	next, err := build(c, dir, salt, topData)
	if err != nil {
		return nil, err
	}
	t0 = time.Now()
	pres, err := docker.Load(ctx, cli, next, docker.LoadOptions{Holders: []string{res.ImageID}, Ledger: docker.Ledger{Dir: filepath.Join(dir, "ledger")}})
	if err != nil {
		return nil, fmt.Errorf("partial load: %w", err)
	}
	if pres.LayersSent != 1 || pres.FullFallback {
		return nil, fmt.Errorf("partial load sent %d layers (fallback %v), want 1", pres.LayersSent, pres.FullFallback)
	}
	out["partial"] = sample{c.layers + 2, float64(pres.BytesSent) / (1 << 20), time.Since(t0).Seconds()}
	ids = append([]string{pres.ImageID}, ids...)

	if !registry {
		return out, nil
	}
	host, stop, err := startRegistry(filepath.Join(dir, fmt.Sprint("registry-", n)))
	if err != nil {
		return nil, err
	}
	defer stop()
	ref := fmt.Sprintf("%s/costmodel/t%d:latest", host, n)
	if err := cli.ImageTag(ctx, res.ImageID, ref); err != nil {
		return nil, err
	}
	secs, err := timed("docker", "push", "-q", ref)
	if err != nil {
		return nil, err
	}
	out["push"] = sample{c.layers + 1, mib, secs}
	// Remove everything so the pull finds no layer in the engine.
	for _, id := range ids {
		cli.ImageRemove(ctx, id, dimage.RemoveOptions{Force: true, PruneChildren: true})
	}
	ids = nil
	secs, err = timed("docker", "pull", "-q", ref)
	if err != nil {
		return nil, err
	}
	out["pull"] = sample{c.layers + 1, mib, secs}
	ids = append(ids, ref)
	return out, nil
}

// startRegistry starts docker-registry on a free port of 127.0.0.1 with
// empty storage in dir, and waits until it answers.
func startRegistry(dir string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	host := l.Addr().String()
	l.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	cfg := filepath.Join(dir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), host)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.Command("docker-registry", "serve", cfg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting docker-registry: %w", err)
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(dir)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			return host, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("docker-registry on %s did not answer: %v", host, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func timed(name string, args ...string) (float64, error) {
	t0 := time.Now()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return time.Since(t0).Seconds(), nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return math.NaN()
	}
	return s[len(s)/2]
}

func report(configs []config, per map[string]map[string][]float64, results map[string][]sample, registry bool) {
	kinds := []string{"load", "partial"}
	if registry {
		kinds = append(kinds, "push", "pull")
	}
	fmt.Printf("| subset | MiB | layers |")
	for _, k := range kinds {
		fmt.Printf(" %s s |", k)
	}
	fmt.Printf("\n|---|---|---|%s\n", strings.Repeat("---|", len(kinds)))
	for _, c := range configs {
		key := fmt.Sprintf("%s/%d", c.subset, c.layers)
		fmt.Printf("| %s | %.1f | %d+1 |", c.subset, float64(c.bytes)/(1<<20), c.layers)
		for _, k := range kinds {
			fmt.Printf(" %.2f |", median(per[key][k]))
		}
		fmt.Println()
	}
	fmt.Println()
	fmt.Println("Least-squares fit over every trial, T = a + b*layers + c*MiB (partial: T = a + b*layers held):")
	for _, k := range kinds {
		cols := 3
		if k == "partial" {
			cols = 2 // the bytes sent are the same in every trial
		}
		x, r2 := fit(results[k], cols)
		if cols == 2 {
			fmt.Printf("  %-8s a = %6.3f s   b = %7.4f s/layer                       (R² %.3f, %d trials)\n", k, x[0], x[1], r2, len(results[k]))
			continue
		}
		fmt.Printf("  %-8s a = %6.3f s   b = %7.4f s/layer   c = %7.5f s/MiB   (R² %.3f, %d trials)\n", k, x[0], x[1], x[2], r2, len(results[k]))
	}
}

// fit solves the least-squares problem T = x0 + x1*layers (+ x2*MiB when
// cols is 3) by the normal equations, and returns R².
func fit(s []sample, cols int) ([]float64, float64) {
	row := func(x sample) []float64 { return []float64{1, float64(x.layers), x.mib}[:cols] }
	m := make([][]float64, cols)
	for i := range m {
		m[i] = make([]float64, cols+1)
	}
	for _, x := range s {
		r := row(x)
		for i := 0; i < cols; i++ {
			for j := 0; j < cols; j++ {
				m[i][j] += r[i] * r[j]
			}
			m[i][cols] += r[i] * x.secs
		}
	}
	// Gauss-Jordan elimination with partial pivoting.
	for col := 0; col < cols; col++ {
		p := col
		for r := col + 1; r < cols; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[p][col]) {
				p = r
			}
		}
		m[col], m[p] = m[p], m[col]
		if m[col][col] == 0 {
			return make([]float64, cols), math.NaN()
		}
		for r := 0; r < cols; r++ {
			if r == col {
				continue
			}
			f := m[r][col] / m[col][col]
			for k := col; k <= cols; k++ {
				m[r][k] -= f * m[col][k]
			}
		}
	}
	x := make([]float64, cols)
	for i := range x {
		x[i] = m[i][cols] / m[i][i]
	}
	var mean, ssTot, ssRes float64
	for _, v := range s {
		mean += v.secs
	}
	mean /= float64(len(s))
	for _, v := range s {
		pred := 0.0
		for i, r := range row(v) {
			pred += x[i] * r
		}
		ssRes += (v.secs - pred) * (v.secs - pred)
		ssTot += (v.secs - mean) * (v.secs - mean)
	}
	return x, 1 - ssRes/ssTot
}
