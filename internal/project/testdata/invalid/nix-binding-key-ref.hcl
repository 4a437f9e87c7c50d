service "x" {
  command = "${nix("pkgs.writeText \"x\" (builtins.toJSON a)", { a = { "${pkgs.hello}" = 1 } })}/bin/hello" # ERROR: Error in function call
}
