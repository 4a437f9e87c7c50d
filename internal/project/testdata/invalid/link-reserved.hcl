image {
  links = { # ERROR: Reserved path
    "/etc/passwd" = "/nix/store/x"
  }
}
service "x" {
  command = "/bin/true"
}
