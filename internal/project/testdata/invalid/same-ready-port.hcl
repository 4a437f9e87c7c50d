service "a" {
  command = "/bin/true"
  ready {
    tcp = 8080
  }
}
service "b" {
  command = "/bin/true"
  ready {
    tcp = 8080 # ERROR: Two services on one port
  }
}
