service "x" {
  command   = "/bin/true"
  startsecs = "1" # ERROR: Incorrect value type
}
