// Package depcheck holds no code, only tests that keep the source tree in
// the shape docs/architecture.md describes: imports point one way (the
// init on the standard library and the contracts; leaf packages free of
// siblings; cmd on the pipeline and the outputs, never reaching into the
// project, modules or schema), and no function outside the init's
// supervisor is longer than 100 lines, and no test skips except through
// testutil.Missing.
package depcheck
