service "x" {
  command = "/bin/true"
  environment = {
    PORT = 8080 # ERROR: Incorrect value type
  }
}
