image { # ERROR: No services
  ports = [80]
}
