service "x" {
  command = "/bin/true"
  after   = ["x"] # ERROR: Service after itself
}
