// Part of importNpmLock.buildNodeModules in testdata/nixpkgs (TEST DATA).
// Before `npm rebuild` runs the packages' install scripts, name every package
// whose script builds a native addon with node-gyp (or downloads one, which
// the sandbox cannot): nixpkgs brings node-gyp's toolchain (python3, make, a
// C++ compiler), this package set has none. Other install scripts run.
//
// usage: node node-modules-check.js node_modules
"use strict";

const fs = require("fs");
const path = require("path");

// packages lists the packages under a node_modules directory, nested ones
// included, with their lockfile paths ("node_modules/a/node_modules/b").
function packages(dir, base, out) {
  let names;
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    if (name.startsWith(".")) continue;
    if (!name.startsWith("@")) {
      visit(path.join(dir, name), base + "/" + name, out);
      continue;
    }
    let scoped = [];
    try {
      scoped = fs.readdirSync(path.join(dir, name)).sort();
    } catch {}
    for (const sub of scoped) visit(path.join(dir, name, sub), base + "/" + name + "/" + sub, out);
  }
  return out;
}

function visit(dir, lockPath, out) {
  const manifest = path.join(dir, "package.json");
  if (fs.lstatSync(dir).isSymbolicLink() || !fs.existsSync(manifest)) return;
  out.push({ lockPath, dir, manifest });
  packages(path.join(dir, "node_modules"), lockPath + "/node_modules", out);
}

// needsGyp tells why a package's install scripts need node-gyp's
// toolchain, or "" when they do not.
function needsGyp(pkg) {
  const scripts = pkg.json.scripts || {};
  const gyp = fs.existsSync(path.join(pkg.dir, "binding.gyp"));
  // npm runs `node-gyp rebuild` for a binding.gyp without install scripts.
  if (gyp && !scripts.install && !scripts.preinstall) {
    return "binding.gyp, and no install script: npm runs `node-gyp rebuild`";
  }
  for (const phase of ["preinstall", "install", "postinstall"]) {
    const s = scripts[phase] || "";
    if (/(^|[\s/;&|])node-gyp(\s|$)/.test(s) || /prebuild-install|node-pre-gyp|cmake-js/.test(s)) {
      return `its ${phase} script: ${s}`;
    }
  }
  return "";
}

function onPath(prog) {
  return (process.env.PATH || "").split(":").some((d) => d && fs.existsSync(path.join(d, prog)));
}

const all = packages(process.argv[2], "node_modules", []);
for (const p of all) {
  p.json = JSON.parse(fs.readFileSync(p.manifest, "utf8"));
}
const toolchain = onPath("python3") && onPath("make") && ["c++", "g++", "clang++"].some(onPath);
const scripted = all.filter((p) => {
  const s = p.json.scripts || {};
  return s.preinstall || s.install || s.postinstall || fs.existsSync(path.join(p.dir, "binding.gyp"));
});
const native = scripted.map((p) => ({ p, why: needsGyp(p) })).filter((x) => x.why);
if (native.length > 0 && !toolchain) {
  for (const { p, why } of native) {
    console.error(
      `nix-docker: ${p.lockPath} (${p.json.name}@${p.json.version}) builds a native addon with node-gyp (${why}). ` +
        "node-gyp needs python3, make and a C++ compiler; this package set (testdata/nixpkgs) has none, so the addon " +
        "cannot be built here. Build with nixpkgs, whose buildNodeModules brings them, or use a package without a native addon.",
    );
  }
  process.exit(1);
}
if (scripted.length > 0) {
  console.log("running the install scripts of: " + scripted.map((p) => p.lockPath).join(", "));
}
