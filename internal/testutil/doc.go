// Package testutil holds test helpers: NeedNix and NeedDocker skip a test
// when the tool is missing, except where NIX_DOCKER_REQUIRE_INTEGRATION=1
// (scripts/test and CI), where a missing tool fails the test; and helpers
// that build the project's binaries for end-to-end tests. The import and
// function-length rules are tests of their own, in internal/depcheck.
package testutil
