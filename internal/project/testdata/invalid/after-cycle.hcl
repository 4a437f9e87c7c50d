service "a" {
  command = "/bin/true"
  after   = ["b"] # ERROR: Dependency cycle
}
service "b" {
  command = "/bin/true"
  after   = ["a"]
}
