service "x" {
  command = "${nix("${pkgs.hello}")}/bin/hello" # ERROR: Error in function call
}
