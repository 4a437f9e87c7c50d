service "x" {
  command = "${nix("pkgs.hello\u0001")}/bin/hello" # ERROR: Error in function call
}
