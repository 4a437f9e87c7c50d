service "x" {
  command = "/bin/true"
  oneshot = "yes" # ERROR: Incorrect value type
}
