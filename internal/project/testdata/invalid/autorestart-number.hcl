service "x" {
  command     = "/bin/true"
  autorestart = 1 # ERROR: Invalid autorestart
}
