package deps
import (
	_ "github.com/hashicorp/hcl/v2"
	_ "github.com/hashicorp/hcl/v2/hclsyntax"
	_ "github.com/hashicorp/hcl/v2/hclwrite"
	_ "github.com/hashicorp/hcl/v2/gohcl"
	_ "github.com/zclconf/go-cty/cty"
	_ "github.com/docker/docker/client"
	_ "github.com/docker/docker/api/types/image"
)
