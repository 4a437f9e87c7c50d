package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/nix-docker/nix-docker/internal/contract"
)

const usage = `usage:
  nix-docker-init RUNSPEC.json                    run as PID 1
  nix-docker-init ctl status|health               show the services
  nix-docker-init ctl start|stop|restart NAME|all
  nix-docker-init ctl signal NAME|all SIGNAL
  nix-docker-init build-files                     Nix builder: write $entries into $out, run $check
`

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "ctl":
		os.Exit(ctl(os.Args[2:]))
	case contract.BuildFilesMode:
		if err := buildFiles(os.Getenv("out"), os.Getenv(contract.EntriesVar), os.Getenv, os.Stderr); err != nil {
			// A failed check gets the line Nix users see under the
			// tool's own message: "nix-docker-init: check failed: ...".
			if strings.HasPrefix(err.Error(), "check failed: ") {
				fmt.Fprintf(os.Stderr, "nix-docker-init: %v\n", err)
			} else {
				fmt.Fprintf(os.Stderr, "nix-docker-init build-files: %v\n", err)
			}
			os.Exit(1)
		}
	default:
		if len(os.Args) != 2 {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(runInit(os.Args[1]))
	}
}
