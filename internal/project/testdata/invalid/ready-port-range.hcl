service "x" {
  command = "/bin/true"
  ready {
    tcp = 0 # ERROR: Number out of range
  }
}
