service "x" {
  command = "/bin/true"
  ready { # ERROR: Empty ready block
  }
}
