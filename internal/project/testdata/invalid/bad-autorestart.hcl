service "x" {
  command     = "/bin/true"
  autorestart = "sometimes" # ERROR: Invalid autorestart
}
