image {
  volumes = "/data" # ERROR: Incorrect value type
}
service "x" {
  command = "/bin/true"
}
