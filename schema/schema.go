package schema

import (
	"github.com/hashicorp/hcl/v2"
)

// File is one decoded HCL file: an app file or a module file.
type File struct {
	Name        string
	Images      []*Image
	Services    []*Service
	Modules     []*Module
	Users       []*User
	Groups      []*Group
	Directories []*Directory
	Files       []*FileBlock
	// Options are declared by module files only.
	Options []*Option
	// Nixpkgs pins the package set; app files only.
	Nixpkgs *Nixpkgs
}

// Image holds the image-level settings.
type Image struct {
	Ports     hcl.Expression // list(number)
	Volumes   hcl.Expression // list(string)
	Env       hcl.Expression // map(string)
	Links     hcl.Expression // map(string): absolute path in the image -> symlink target
	DeclRange hcl.Range
}

// Service is a `service "NAME"` block.
type Service struct {
	Name      string
	Attrs     hcl.Attributes // see serviceAttributes
	Ready     *Ready
	DeclRange hcl.Range
	NameRange hcl.Range
}

// Ready is a service's `ready` block.
type Ready struct {
	Attrs     hcl.Attributes // tcp, command, timeout
	DeclRange hcl.Range
}

// Module is a `module "NAME"` block: a source and the option values.
type Module struct {
	Name      string
	Source    hcl.Expression // nil: the label names a built-in module
	After     hcl.Expression // nil: none; services the module's services start after
	Options   hcl.Attributes // every other attribute
	DeclRange hcl.Range
	NameRange hcl.Range
}

// User is a `user "NAME"` block.
type User struct {
	Name      string
	Attrs     hcl.Attributes // uid, gid, home, groups
	DeclRange hcl.Range
}

// Group is a `group "NAME"` block.
type Group struct {
	Name      string
	Attrs     hcl.Attributes // gid
	DeclRange hcl.Range
}

// Directory is a `directory "NAME"` block: a directory the init creates,
// with its owner and mode, before any service starts.
type Directory struct {
	Name      string
	Attrs     hcl.Attributes // path, user, group, mode
	DeclRange hcl.Range
}

// FileBlock is a `file "NAME"` block: a generated file in the store.
type FileBlock struct {
	Name      string
	Attrs     hcl.Attributes // text, name, executable, check
	DeclRange hcl.Range
}

// Option is a module's `option "NAME"` block.
type Option struct {
	Name        string
	Type        hcl.Expression // a type constraint expression; nil means any
	Default     hcl.Expression // nil: required
	Description string
	Validations []*Validation
	DeclRange   hcl.Range
}

// Validation is an option's `validation` block: condition is evaluated
// with `value` bound to the option's value.
type Validation struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

// Nixpkgs is the `nixpkgs` block: the package set pinned by the file.
type Nixpkgs struct {
	Attrs     hcl.Attributes // path, or url and sha256
	DeclRange hcl.Range
}
