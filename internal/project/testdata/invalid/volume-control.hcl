image {
  volumes = ["/data\t"] # ERROR: Invalid volume
}
service "x" {
  command = "/bin/true"
}
