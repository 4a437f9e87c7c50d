service "x" {
  command     = "/bin/true"
  environment = ["A=1"] # ERROR: Incorrect value type
}
