nixpkgs { # ERROR: Empty nixpkgs block
}
service "x" {
  command = "/bin/true"
}
