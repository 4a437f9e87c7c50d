service "x" {
  command = "${nix("pkgs.hello", { pkgs = "x" })}/bin/hello" # ERROR: Error in function call
}
