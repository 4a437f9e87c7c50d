// Package testutil holds test helpers: NeedNix, NeedDocker, NeedRoot and
// the other Need helpers skip a test when the tool is missing, through
// Missing, the one skip of the suite, except where
// NIX_DOCKER_REQUIRE_INTEGRATION=1 (scripts/test and CI), where a missing
// tool fails the test (TestOneSkipHelper in internal/depcheck keeps every
// other t.Skip out); and helpers
// that build the project's binaries for end-to-end tests. The import and
// function-length rules are tests of their own, in internal/depcheck.
package testutil
