option "port" { # ERROR: Unsupported block type
  type = number
}
service "x" {
  command = "/bin/true"
}
