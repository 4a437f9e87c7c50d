service "x" {
  command = "/bin/true"
  ready {
    tcp = 80
  }
  ready { # ERROR: Duplicate ready block
    tcp = 81
  }
}
