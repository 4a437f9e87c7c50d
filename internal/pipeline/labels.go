package pipeline

// Labels nix-docker writes into the images it builds.
const (
	// LabelSystem is the system store path.
	LabelSystem = "org.nix-docker.system"
	// LabelStorePaths lists the store paths the image holds, sorted, one
	// per line; --from reads it from a base image.
	LabelStorePaths = "org.nix-docker.store-paths"
	// LabelName is the image name (the -t value without its tag); prune
	// finds an app's images by it.
	LabelName = "org.nix-docker.name"
	// LabelHostStore marks a host-store mode image, which holds no store
	// paths: it runs with the host's /nix/store mounted.
	LabelHostStore = "org.nix-docker.host-store"
	// LabelNixpkgs records a pinned package set.
	LabelNixpkgs = "org.nix-docker.nixpkgs"
)
