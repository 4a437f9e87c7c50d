package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-docker/nix-docker/internal/testutil"
)

// phpExtensionsApp is two PHP-FPM pools, each behind its own nginx: one
// adds extensions through the module's option, one is built with the
// nix() escape hatch from pkgs.php.withExtensions. The page reports what
// its PHP loaded and uses two of them.
const phpExtensionsApp = `
module "opt" {
  source     = "php-fpm"
  port       = 9000
  extensions = ["xsl", "shmop"]
}
module "opt-web" {
  source  = "nginx"
  port    = 8080
  root    = path("www")
  php_fpm = "127.0.0.1:9000"
  after   = ["opt"]
}
module "raw" {
  source  = "php-fpm"
  port    = 9001
  package = nix("pkgs.php.withExtensions ({ all, ... }: [ all.pdo all.pdo_sqlite ])")
}
module "raw-web" {
  source  = "nginx"
  port    = 8081
  root    = path("www")
  php_fpm = "127.0.0.1:9001"
  after   = ["raw"]
}
`

const phpExtensionsPage = `<?php
header("Content-Type: text/plain");
foreach (["xsl", "dom", "shmop", "mbstring", "pdo_sqlite", "phar"] as $e) {
  printf("%s=%s\n", $e, extension_loaded($e) ? "yes" : "no");
}
if (extension_loaded("xsl")) {
  $xsl = new XSLTProcessor();
  $xsl->importStylesheet(new SimpleXMLElement('<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/">xslt says <xsl:value-of select="6*7"/></xsl:template></xsl:stylesheet>'));
  echo trim($xsl->transformToXML(new SimpleXMLElement("<x/>"))), "\n";
}
if (extension_loaded("pdo_sqlite")) {
  $db = new PDO("sqlite::memory:");
  echo "sqlite says ", $db->query("SELECT 6*7")->fetchColumn(), "\n";
}
`

// TestPHPExtensions: extensions the nixpkgs way, in a real container. The
// module's extensions option adds to pkgs.php's default set
// (withExtensions ({ enabled, all }: enabled ++ ...)); nix("pkgs.php.
// withExtensions (...)") gives exactly the listed ones (and phar, which
// nixpkgs builds in). Giving both an own package and extensions fails the
// build with a message saying what to do.
func TestPHPExtensions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(dir, "app.hcl")
	os.WriteFile(app, []byte(phpExtensionsApp), 0o644)
	os.WriteFile(filepath.Join(dir, "www", "index.php"), []byte(phpExtensionsPage), 0o644)
	tag := buildFile(t, app, "php-extensions")
	_, ports := startContainer(t, tag, "8080", "8081")
	for _, c := range []struct {
		port        string
		want, wantN []string
	}{
		{"8080", []string{"xsl=yes", "dom=yes", "shmop=yes", "mbstring=yes", "pdo_sqlite=yes", "phar=yes", "xslt says 42", "sqlite says 42"}, nil},
		{"8081", []string{"pdo_sqlite=yes", "phar=yes", "sqlite says 42"}, []string{"xsl=no", "dom=no", "shmop=no", "mbstring=no"}},
	} {
		code, body := httpGet(t, "http://127.0.0.1:"+ports[c.port]+"/index.php", 60*time.Second)
		if code != 200 {
			t.Errorf("port %s: GET /index.php = %d %q", c.port, code, body)
			continue
		}
		for _, w := range append(c.want, c.wantN...) {
			if !strings.Contains(body, w+"\n") {
				t.Errorf("port %s: page lacks %q:\n%s", c.port, w, body)
			}
		}
	}

	t.Run("package-and-extensions", func(t *testing.T) {
		testutil.NeedNix(t)
		bad := filepath.Join(t.TempDir(), "app.hcl")
		os.WriteFile(bad, []byte("module \"php\" {\n  source     = \"php-fpm\"\n  package    = nix(\"pkgs.php\")\n  extensions = [\"xsl\"]\n}\n"), 0o644)
		r := run(t, nixDocker(t), "-I", nixpkgsArg(t), "-o", filepath.Join(t.TempDir(), "result"), bad)
		if r.code == 0 || !strings.Contains(r.stderr, "extensions adds to the default package") || !strings.Contains(r.stderr, bad+":1:1") {
			t.Errorf("own package with extensions: exit %d, want a failed build at %s:1:1 saying what to do:\n%s", r.code, bad, r.stderr)
		}
	})
}
