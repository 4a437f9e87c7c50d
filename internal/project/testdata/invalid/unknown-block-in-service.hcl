service "x" {
  command = "/bin/true"
  readiness { # ERROR: Unsupported block type
    tcp = 80
  }
}
