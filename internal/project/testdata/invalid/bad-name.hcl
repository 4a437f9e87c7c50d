service "my app" { # ERROR: Invalid service name
  command = "/bin/true"
}
