# A module's /bin/sh under the app's /bin: /bin cannot be both a link and
# a directory. Reported at the longer path, naming both.
image {
  links = { "/bin" = "${pkgs.busybox}/bin" }
}
module "db" { # ERROR: Overlapping links
  source = "postgresql"
}
