image {
  env = { A = "\u0000" } # ERROR: Invalid string
}
service "x" {
  command = "/bin/true"
}
