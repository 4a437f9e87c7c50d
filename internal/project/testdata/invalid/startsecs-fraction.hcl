service "x" {
  command   = "/bin/true"
  startsecs = 1.5 # ERROR: Invalid number
}
