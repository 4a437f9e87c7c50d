service "x" {
  command = "${nix("")}/bin/x" # ERROR: Error in function call
}
