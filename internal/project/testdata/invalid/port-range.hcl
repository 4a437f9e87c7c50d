image {
  ports = [80, 70000] # ERROR: Number out of range
}
service "x" {
  command = "/bin/true"
}
