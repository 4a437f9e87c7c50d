service "x" {
  command = "/bin/true"
  after   = "y" # ERROR: Incorrect value type
}
service "y" {
  command = "/bin/true"
}
