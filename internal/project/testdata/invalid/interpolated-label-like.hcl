service "x" {
  command = "/bin/true"
  user    = 0 # ERROR: Incorrect value type
}
