nixpkgs { # ERROR: Missing sha256
  url = "https://example.org/nixpkgs.tar.gz"
}
service "x" {
  command = "/bin/true"
}
