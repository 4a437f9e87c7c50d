service "x" {
  command = "/bin/true"
  after   = ["reddis"] # ERROR: Unknown service
}
