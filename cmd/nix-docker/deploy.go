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

	"github.com/nix-docker/nix-docker/internal/deploy"
	"github.com/nix-docker/nix-docker/internal/docker"
	"github.com/nix-docker/nix-docker/internal/version"
)

const deployUsage = `usage:
  nix-docker deploy [SETTINGS]                    print a pre-receive hook that deploys pushes
  nix-docker deploy --install REPO [SETTINGS]     install it in the bare repository REPO
  nix-docker deploy receive [SETTINGS]            what the hook runs: reads "OLD NEW REF" lines

A push to the deploy branch builds the app file; the push is rejected,
with the build's errors, when it fails. A new container must pass the
image's health check before it replaces the running one (docs/deploy.md).
Settings not given are read from git config nix-docker.SETTING in the
repository when a push arrives, else they take the defaults.

flags:
`

// runDeploy prints or installs the git hook, or runs as it (receive).
func runDeploy(args []string, stdout, stderr io.Writer) int {
	receive := len(args) > 0 && args[0] == "receive"
	if receive {
		args = args[1:]
	}
	fs := flag.NewFlagSet("nix-docker deploy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, deployUsage); fs.PrintDefaults() }
	var s deploy.Settings
	fs.StringVar(&s.File, "file", "", "the app file in the repository (default "+deploy.DefaultFile+")")
	fs.StringVar(&s.Name, "name", "", "image and container name (default: the repository's directory name without .git)")
	fs.StringVar(&s.Branch, "branch", "", "the branch whose pushes deploy (default: the repository's HEAD branch)")
	fs.StringVar(&s.Publish, "publish", "", "host `ADDRESS` the app's ports are published on (default "+deploy.DefaultPublish+")")
	fs.Var((*listFlag)(&s.Ports), "port", "publish a container port on another host port, `HOST:CONTAINER` (repeatable; default: the same number)")
	fs.Var((*listFlag)(&s.Env), "env", "set `KEY=VALUE` in the app's containers (repeatable)")
	fs.Var((*listFlag)(&s.Include), "I", "Nix search path entry for the build, such as nixpkgs=/srv/nixpkgs (repeatable)")
	fs.DurationVar(&s.Timeout, "timeout", 0, "how long a new container may take to become healthy (default "+deploy.DefaultTimeout.String()+")")
	install := fs.String("install", "", "install the hook in the bare repository `REPO`")
	force := fs.Bool("force", false, "with --install: replace a pre-receive hook nix-docker did not write")
	bin := fs.String("bin", "", "the nix-docker the hook runs (default: this one)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "nix-docker: %v\n", err)
		return 1
	}
	if receive {
		return deployReceive(s, self, stderr)
	}
	if *bin != "" {
		self = *bin
	}
	if *install == "" {
		script, err := deploy.Script(self, version.Read().Version, s)
		if err != nil {
			fmt.Fprintf(stderr, "nix-docker deploy: %v\n", err)
			return 2
		}
		fmt.Fprint(stdout, script)
		return 0
	}
	in, err := deploy.Install(context.Background(), *install, self, version.Read().Version, s, *force)
	if err != nil {
		fmt.Fprintf(stderr, "nix-docker deploy: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "installed %s\nfrom a clone of your app:\n    git remote add deploy ssh://HOST%s\n    git push deploy HEAD:%s\n", in.Hook, in.Repo, in.Branch)
	return 0
}

// deployReceive is the hook's work; a non-zero exit rejects the push.
func deployReceive(s deploy.Settings, self string, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// A pusher who hangs up must not kill the hook between stopping the
	// old container and starting the new one: writes then fail instead.
	signal.Ignore(syscall.SIGPIPE)
	cli, err := docker.New()
	if err != nil {
		fmt.Fprintf(stderr, " !     push rejected: %v\n", err)
		return 1
	}
	defer cli.Close()
	err = deploy.Receive(ctx, os.Stdin, deploy.Options{Settings: s, Binary: self, Engine: deploy.NewEngine(cli), Log: stderr})
	if err != nil {
		fmt.Fprintf(stderr, " !     push rejected: %v\n", err)
		return 1
	}
	return 0
}
