service "x" {
  command = "   " # ERROR: Empty command
}
