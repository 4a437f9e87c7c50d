service "x" {
  command = "/bin/true"
  signals = ["TERM"] # ERROR: Unknown signal
}
