package project_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-docker/nix-docker/internal/project"
	"github.com/nix-docker/nix-docker/schema"
)

// loadCommand loads an app whose one service's command is expr.
func loadCommand(t *testing.T, expr string) (*project.Project, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "app.hcl")
	src := "service \"x\" {\n  command = " + expr + "\n}\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, diags := project.Load(schema.NewParser(), file)
	msg := ""
	for _, d := range diags {
		msg += d.Summary + ": " + d.Detail + "\n"
		if d.Subject == nil || d.Subject.Start.Line != 2 {
			t.Errorf("%s: diagnostic %q not at the command's line", expr, d.Summary)
		}
	}
	if strings.ContainsAny(msg, "\uE000\uE001") {
		t.Errorf("%s: a diagnostic shows the internal placeholder: %q", expr, msg)
	}
	return p, msg
}

// TestRefsOpaque: a reference stands for a store path Nix makes later.
// A function that would read, cut or measure its characters fails at the
// call, naming it; functions that keep it whole work.
func TestRefsOpaque(t *testing.T) {
	for _, expr := range []string{
		`substr(pkgs.hello, 0, 10)`, `upper(pkgs.hello)`, `lower("${pkgs.hello}/bin")`, `title(pkgs.hello)`,
		`strrev(pkgs.hello)`, `replace(pkgs.hello, "/", "_")`, `regex("[a-z]+", pkgs.hello)`, `join(",", regexall(".", pkgs.hello))`,
		`join(",", split("-", pkgs.hello))`, `trimprefix(pkgs.hello, "/nix")`, `trimsuffix(pkgs.hello, "o")`,
		`trim(pkgs.hello, "/")`, `tostring(tonumber(pkgs.hello))`, `format("%.10s", pkgs.hello)`, `format("%q", pkgs.hello)`,
		`format("%20s", pkgs.hello)`, `format(pkgs.hello)`, `join(",", formatlist("%.3s", [pkgs.hello]))`,
	} {
		p, msg := loadCommand(t, expr)
		if p != nil || !strings.Contains(msg, "${pkgs.hello}") {
			t.Errorf("%s: loaded (%v), want an error naming ${pkgs.hello}; got %q", expr, p != nil, msg)
		}
	}
	for expr, want := range map[string]string{
		`"${pkgs.hello}/bin/hello"`:                     "${pkgs.hello}/bin/hello",
		`join("/", [pkgs.hello, "bin", "hello"])`:       "${pkgs.hello}/bin/hello",
		`format("%s/bin/%s", pkgs.hello, "hello")`:      "${pkgs.hello}/bin/hello",
		`join(" ", formatlist("%v/bin", [pkgs.hello]))`: "${pkgs.hello}/bin",
		`trimspace("  ${pkgs.hello}/bin  ")`:            "${pkgs.hello}/bin",
		`"${pkgs.hello}/bin/x ${length([pkgs.hello])}"`: "${pkgs.hello}/bin/x 1",
		`"${shell_quote(pkgs.hello)}/bin/hello"`:        "${pkgs.hello}/bin/hello",
		`"${shell_quote("${pkgs.hello}/a b")} x"`:       "'${pkgs.hello}/a b' x",
		`"${lower("ABC")} ${pkgs.hello}"`:               "abc ${pkgs.hello}",
	} {
		p, msg := loadCommand(t, expr)
		if p == nil {
			t.Errorf("%s: %s", expr, msg)
			continue
		}
		if got := show(p, p.Services[0].Command); got != want {
			t.Errorf("%s: command %q, want %q", expr, got, want)
		}
	}
}

// show spells the references of s as in HCL.
func show(p *project.Project, s string) string {
	var b strings.Builder
	for _, part := range p.Split(s) {
		if part.Ref != nil {
			b.WriteString("${" + part.Ref.String() + "}")
		} else {
			b.WriteString(part.Lit)
		}
	}
	return b.String()
}

// TestLinksOverlapOrder: overlapping links give the same error whichever
// is declared first.
func TestLinksOverlapOrder(t *testing.T) {
	image := "image {\n  links = { \"/bin\" = \"${pkgs.busybox}/bin\" }\n}\n"
	module := "module \"db\" {\n  source = \"postgresql\"\n}\n"
	var got []string
	for _, src := range []string{image + module, module + image} {
		file := filepath.Join(t.TempDir(), "app.hcl")
		os.WriteFile(file, []byte(src), 0o644)
		_, diags := project.Load(schema.NewParser(), file)
		if len(diags) != 1 || diags[0].Summary != "Overlapping links" {
			t.Fatalf("diagnostics %v, want one: Overlapping links", diags)
		}
		got = append(got, strings.Split(diags[0].Detail, ",")[0])
	}
	if got[0] != got[1] || !strings.Contains(got[0], "Link /bin/sh") {
		t.Errorf("the error depends on the order of declaration: %q, then %q", got[0], got[1])
	}
}

// TestNFC pins what docs/language.md says of literals: HCL normalises
// them to Unicode NFC as it reads them (a decomposed é arrives composed).
func TestNFC(t *testing.T) {
	p, msg := loadCommand(t, "\"/bin/echo e\u0301\"")
	if p == nil {
		t.Fatal(msg)
	}
	if got := p.Services[0].Command; got != "/bin/echo \u00e9" {
		t.Errorf("command = %q, want the composed é", got)
	}
}
