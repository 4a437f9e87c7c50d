service "x" {
  command = "/bin/true"
  environment = { # ERROR: Invalid environment variable name
    "1X" = "a"
  }
}
