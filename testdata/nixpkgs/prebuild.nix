# TEST AND DEMO DATA. Every package of the stand-in, for scripts/setup to build in
# one go, as root, with `--option sandbox false`: mkDebianPackage copies this
# machine's Debian files, which Nix's sandbox hides. The result is a text file
# listing the store paths; its out-link keeps them all from the garbage collector.
# Everything else (nix-docker's own derivations, writeText, runCommand) builds with
# the sandbox on. See README.md, "How it is built".
let
  pkgs = import ./. { };
  isDrv = x: builtins.isAttrs x && (x.type or "") == "derivation";
  # Top-level packages, and the ones nested the way nixpkgs nests them.
  top = builtins.filter isDrv (builtins.attrValues pkgs);
  nested = builtins.concatMap (p:
    builtins.filter isDrv ([ (p.unwrapped or null) ] ++ builtins.attrValues (p.extensions or { })))
    top;
  all = top ++ nested;
in
pkgs.writeText "nixpkgs-stand-in-packages"
  (builtins.concatStringsSep "\n" (map toString all) + "\n")
