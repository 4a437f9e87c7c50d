image {
  links = { "/opt/${pkgs.redis}" = "/x" } # ERROR: Invalid link
}
service "x" {
  command = "/bin/true"
}
