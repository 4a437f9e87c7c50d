module github.com/nix-docker/nix-docker

go 1.26
