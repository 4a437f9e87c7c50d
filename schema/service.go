package schema

import "github.com/hashicorp/hcl/v2"

// Service is a `service "NAME"` block.
type Service struct {
	Name      string
	Attrs     hcl.Attributes // see ServiceAttributes
	Ready     *Ready
	DeclRange hcl.Range
	NameRange hcl.Range
}

// Ready is a service's `ready` block.
type Ready struct {
	Attrs     hcl.Attributes // tcp, command, timeout
	DeclRange hcl.Range
}

// ServiceAttributes are the attributes of a service block; package
// project decodes each (a test keeps the two lists equal).
var ServiceAttributes = []hcl.AttributeSchema{
	{Name: "command", Required: true},
	{Name: "environment"},
	{Name: "directory"},
	{Name: "user"},
	{Name: "after"},
	{Name: "autorestart"},
	{Name: "startsecs"},
	{Name: "startretries"},
	{Name: "exitcodes"},
	{Name: "stopsignal"},
	{Name: "stopwaitsecs"},
	{Name: "stopasgroup"},
	{Name: "killasgroup"},
	{Name: "oneshot"},
	{Name: "critical"},
	{Name: "signals"},
	{Name: "leavechildren"},
	{Name: "restartsec"},
	{Name: "startlimitburst"},
	{Name: "startlimitintervalsec"},
	{Name: "maxbackoffsecs"},
}

var (
	serviceSchema = &hcl.BodySchema{
		Attributes: ServiceAttributes,
		Blocks:     []hcl.BlockHeaderSchema{{Type: "ready"}},
	}
	readySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "tcp"}, {Name: "command"}, {Name: "timeout"},
	}}
)

func (f *File) addService(b *hcl.Block) hcl.Diagnostics {
	c, diags := content(b.Body, serviceSchema)
	s := &Service{Name: b.Labels[0], Attrs: c.Attributes, DeclRange: b.DefRange, NameRange: b.LabelRanges[0]}
	for _, rb := range c.Blocks {
		if s.Ready != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate ready block",
				Detail:   "A service has at most one ready block.",
				Subject:  rb.DefRange.Ptr(),
			})
			continue
		}
		rc, d := content(rb.Body, readySchema)
		diags = append(diags, d...)
		s.Ready = &Ready{Attrs: rc.Attributes, DeclRange: rb.DefRange}
	}
	f.Services = append(f.Services, s)
	return diags
}
