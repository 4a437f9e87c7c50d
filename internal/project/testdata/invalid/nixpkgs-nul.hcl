# A NUL here once reached the renderer, which panicked.
nixpkgs {
  url    = "https://example.org/nixpkgs.tar.gz"
  sha256 = "0000\u0000" # ERROR: Invalid string
}
service "x" {
  command = "/bin/true"
}
