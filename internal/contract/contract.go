package contract

// The system store path: the one derivation whose closure is the image.
// Paths are relative to the store path.
const (
	// SystemName is the system derivation's name.
	SystemName = "nix-docker-system"
	// RunspecFile is the init's configuration (package runspec).
	RunspecFile = "runspec.json"
	// MetadataFile holds the Metadata: image settings Nix resolves.
	MetadataFile = "image.json"
	// InitLink is a symlink to the init binary in the store.
	InitLink = "init"
	// PasswdFile, GroupFile and NsswitchFile are the account files; the
	// image's /etc/passwd, /etc/group and /etc/nsswitch.conf link to them.
	PasswdFile   = "etc/passwd"
	GroupFile    = "etc/group"
	NsswitchFile = "etc/nsswitch.conf"
)

// EtcFiles are the system path's files that the image's root links to at
// the same path under /: /etc/group -> SYSTEM/etc/group, and so on.
var EtcFiles = []string{GroupFile, NsswitchFile, PasswdFile}

// Metadata is MetadataFile: the image settings whose values Nix must
// resolve, because they name store paths. Everything else (ports,
// volumes, the health check, labels) goes from the project to the image
// config directly. Maps are written with sorted keys (encoding/json).
type Metadata struct {
	// System is the Nix system the closure was built for, such as
	// "x86_64-linux": the image config's architecture and OS.
	System string `json:"system"`
	// Env maps an image environment variable to its value, for the
	// variables whose values name store paths.
	Env map[string]string `json:"env,omitempty"`
	// Links maps a symlink at the image's root to its target, for the
	// links whose targets name store paths.
	Links map[string]string `json:"links,omitempty"`
	// FromApp lists the store paths built from the app's own files (a
	// nix() expression of path() values, such as node_modules built from
	// package-lock.json), in first-use order: the layer planner puts them right under
	// the app's layer, as they change with the app's files.
	FromApp []string `json:"fromApp,omitempty"`
}

// The init's Nix builder mode: `nix-docker-init build-files` writes the
// FileEntry list in the environment variable EntriesVar into $out, then
// runs the command in CheckVar, if any.
const (
	BuildFilesMode = "build-files"
	EntriesVar     = "entries"
	CheckVar       = "check"
)

// FileEntry is one file, directory entry or symlink that build-files
// writes under $out. The Nix expression renders a list of them as a Nix
// value whose builtins.toJSON is this type's JSON.
type FileEntry struct {
	// Path is relative to $out; "" means $out itself is the file.
	Path string `json:"path"`
	// From names an environment variable holding the path of the file to
	// copy (Nix's passAsFile gives e.g. runspecPath for runspec).
	From string `json:"from,omitempty"`
	// Link makes a symlink to this target instead.
	Link string `json:"link,omitempty"`
	// Mode is the permission, 0644 (420) when unset.
	Mode uint32 `json:"mode,omitempty"`
}

// ModuleAttr is the attribute that names a module instance in a
// derivation the instance builds through nix() (the node module sets it
// in node_modules' derivation), so that a failed build is reported at the
// instance's module block.
const ModuleAttr = "nixDockerModule"

// FileAttr is the attribute that names a generated file's block (its
// File.Key in package project) in the file's derivation, so that a failed
// build is reported at that block.
const FileAttr = "nixDockerFile"
