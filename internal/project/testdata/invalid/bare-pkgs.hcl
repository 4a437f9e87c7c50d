service "x" {
  command = "${pkgs}/bin/x" # ERROR: Package set used without a package
}
