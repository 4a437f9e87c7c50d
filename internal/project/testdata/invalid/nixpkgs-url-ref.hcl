nixpkgs {
  url    = "https://example.org/${pkgs.x}.tar.gz" # ERROR: Invalid nixpkgs url
  sha256 = "0000"
}
service "x" {
  command = "/bin/true"
}
