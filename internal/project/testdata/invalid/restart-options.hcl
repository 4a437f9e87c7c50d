service "x" {
  command         = "/bin/true"
  restartsec      = 0.001 # ERROR: Value out of range
  startlimitburst = 0     # ERROR: Number out of range
  leavechildren   = "yes" # ERROR: Incorrect value type
}
