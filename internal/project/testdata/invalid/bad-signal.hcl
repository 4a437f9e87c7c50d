service "x" {
  command    = "/bin/true"
  stopsignal = "TERMINATE" # ERROR: Unknown signal
}
