service "x" {
  command   = "/bin/true"
  exitcodes = [0, 300] # ERROR: Number out of range
}
