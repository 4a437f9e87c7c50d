package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/output"
	"github.com/nix-docker/nix-docker/internal/pipeline"
)

// runPrune trims the layer cache and, given NAME, removes an app's old,
// untagged images.
func runPrune(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet("nix-docker prune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nix-docker prune [NAME]\n\nTrims the layer cache: drops what it learnt of store paths no longer in the Nix store,\nand the saved layers of --from bases. Given NAME (the -t value without its tag), also\nremoves the untagged images nix-docker built for NAME; tagged images, other apps' images\nand images a container uses are kept.")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return 2
	}
	cache, err := pipeline.PruneCache()
	if err != nil {
		fmt.Fprintf(stderr, "nix-docker: pruning the layer cache: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "layer cache: %d record(s) removed, %d kept (%s)", cache.Removed, cache.Kept, output.ByteSize(cache.Bytes))
	if cache.BaseBytes > 0 {
		fmt.Fprintf(stderr, "; %s of saved base layers removed", output.ByteSize(cache.BaseBytes))
	}
	if cache.LegacyBytes > 0 {
		fmt.Fprintf(stderr, "; %s of old layer tars removed", output.ByteSize(cache.LegacyBytes))
	}
	if cache.Closures > 0 {
		fmt.Fprintf(stderr, "; %d closure record(s) of collected store paths removed", cache.Closures)
	}
	fmt.Fprintln(stderr)
	if fs.NArg() == 0 {
		return 0
	}
	cli, err := docker.New()
	if err != nil {
		fmt.Fprintf(stderr, "nix-docker: %v\n", err)
		return 1
	}
	defer cli.Close()
	res, err := pipeline.Prune(ctx, cli, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "nix-docker: %v\n", err)
		return 1
	}
	for _, id := range res.Removed {
		fmt.Fprintf(stdout, "removed %s\n", id)
	}
	for _, k := range res.Kept {
		fmt.Fprintf(stderr, "kept %s: %s\n", k.ID, k.Reason)
	}
	fmt.Fprintf(stderr, "%d untagged image(s) of %s removed, %d kept\n", len(res.Removed), fs.Arg(0), len(res.Kept))
	return 0
}
