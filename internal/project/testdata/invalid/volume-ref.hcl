# Volumes go to the image config as they are: a reference has no value there.
image {
  volumes = ["${pkgs.redis}/data"] # ERROR: Invalid volume
}
service "x" {
  command = "/bin/true"
}
