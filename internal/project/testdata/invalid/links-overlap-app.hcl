image {
  links = {
    "/usr/share"          = "${pkgs.x}/share"
    "/usr/share/zoneinfo" = "${pkgs.tzdata}/share/zoneinfo" # ERROR: Overlapping links
  }
}
service "x" {
  command = "/bin/true"
}
