// Part of importNpmLock.buildNodeModules in testdata/nixpkgs (TEST DATA),
// preloaded (NODE_OPTIONS=--require) when the build sandbox has no /bin/sh.
// Nix as nixpkgs builds it puts a static shell at /bin/sh in every sandbox
// (its sandbox-shell); Debian's nix-bin, which this machine runs, has none.
// Node.js hard-codes /bin/sh for child_process' shell: this points it at
// $NIX_SANDBOX_SH instead, so that install scripts that run a shell (such as
// node-gyp-build, looking for a prebuilt addon) behave as under stock Nix.
"use strict";

const cp = require("child_process");
const sh = process.env.NIX_SANDBOX_SH;

if (sh) {
  const withShell = (opts, always) => {
    if (opts && typeof opts === "object" && !Array.isArray(opts)) {
      if (opts.shell === true || (always && typeof opts.shell !== "string")) return { ...opts, shell: sh };
      return opts;
    }
    return always ? { shell: sh } : opts;
  };
  for (const name of ["exec", "execSync"]) {
    const orig = cp[name];
    cp[name] = function (command, options, ...rest) {
      if (typeof options === "function") return orig.call(this, command, { shell: sh }, options, ...rest);
      return orig.call(this, command, withShell(options, true), ...rest);
    };
  }
  for (const name of ["spawn", "spawnSync", "execFile", "execFileSync"]) {
    const orig = cp[name];
    cp[name] = function (file, args, options, ...rest) {
      if (args && !Array.isArray(args) && typeof args === "object") return orig.call(this, file, withShell(args, false), options, ...rest);
      return orig.call(this, file, args, withShell(options, false), ...rest);
    };
  }
}
