package schema

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Parser parses HCL sources and keeps them, so that diagnostics can show
// snippets for every file of a run.
type Parser struct {
	p *hclparse.Parser
}

// NewParser returns an empty parser.
func NewParser() *Parser { return &Parser{p: hclparse.NewParser()} }

func (p *Parser) parse(src []byte, filename string) (*hcl.File, hcl.Diagnostics) {
	return p.p.ParseHCL(src, filename)
}

// Files maps file names to parsed files, for hcl's diagnostic writers.
func (p *Parser) Files() map[string]*hcl.File { return p.p.Files() }
