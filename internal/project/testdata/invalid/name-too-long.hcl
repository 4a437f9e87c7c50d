service "a_service_name_longer_than_32_bytes" { # ERROR: Invalid service name
  command = "/bin/true"
}
