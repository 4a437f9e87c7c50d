image {
  links = { # ERROR: Invalid link
    "bin/sh" = "/nix/store/x"
  }
}
service "x" {
  command = "/bin/true"
}
