service "x" {
  command = 42 # ERROR: Incorrect value type
}
