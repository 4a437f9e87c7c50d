nixpkgs {
  path = "./no-such-nixpkgs" # ERROR: Package set not found
}
service "x" {
  command = "/bin/true"
}
