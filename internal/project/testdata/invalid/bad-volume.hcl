image {
  volumes = ["data"] # ERROR: Invalid volume
}
service "x" {
  command = "/bin/true"
}
