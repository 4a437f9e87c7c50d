service "x" {
  command = "/bin/true"
  ready { # ERROR: Conflicting readiness checks
    tcp     = 80
    command = "/bin/true"
  }
}
