service "x" {
  command = "/bin/true"
  user    = "nobdy" # ERROR: Unknown user
}
