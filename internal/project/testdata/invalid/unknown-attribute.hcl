service "x" {
  comand = "/bin/true" # ERROR: Unsupported argument
}
