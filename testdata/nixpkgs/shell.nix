# TEST AND DEMO DATA: what nix-shell needs of a package set, for the offline
# stand-in (see README.md, "Shells"):
#
#   bashInteractive  the shell nix-shell starts ((import <nixpkgs> {}).bashInteractive;
#                    in default.nix, Debian's bash)
#   stdenv           a store path with `setup`, which nix-shell sources: here it puts
#                    the inputs' bin/ directories on PATH and defines runHook, which
#                    nix-shell calls for shellHook. Nothing else of nixpkgs' stdenv.
#   mkShell { name ? "nix-shell", packages ? [ ], buildInputs ? [ ],
#             nativeBuildInputs ? [ ], shellHook ? "", ... }
#                    a derivation for nix-shell only (building it fails, saying so);
#                    other attributes become environment variables, as in nixpkgs.
{ system, sh, busybox }:

let
  setup = builtins.toFile "stdenv-setup" ''
    # testdata/nixpkgs stdenv setup (TEST DATA): sourced by nix-shell's bash.
    _add=
    for _p in $nativeBuildInputs $buildInputs; do
      if [ -d "$_p/bin" ]; then
        _add="''${_add:+$_add:}$_p/bin"
      fi
    done
    export PATH="$_add''${PATH:+:$PATH}"
    unset _p _add
    # runHook NAME: run the hook's text (nix-shell calls runHook shellHook).
    runHook() {
      local hook="$1"
      shift
      eval "''${!hook:-}"
    }
  '';

  stdenv = derivation {
    name = "stdenv-stand-in";
    inherit system setup;
    builder = sh;
    args = [ "sh" "-c" "${busybox}/bin/mkdir $out && ${busybox}/bin/cp $setup $out/setup" ];
  };

  mkShell = { name ? "nix-shell", packages ? [ ], buildInputs ? [ ], nativeBuildInputs ? [ ], shellHook ? "", ... }@attrs:
    derivation (builtins.removeAttrs attrs [ "packages" ] // {
      inherit name system stdenv buildInputs shellHook;
      # nixpkgs puts packages among the native inputs; on PATH in this order.
      nativeBuildInputs = packages ++ nativeBuildInputs;
      builder = sh;
      args = [ "sh" "-c" "echo 'mkShell: this derivation is a shell environment for nix-shell, not something to build' >&2; exit 1" ];
    });
in
{
  inherit stdenv mkShell;
}
