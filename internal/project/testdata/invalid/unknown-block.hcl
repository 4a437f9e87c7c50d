servce "x" { # ERROR: Unsupported block type
  command = "/bin/true"
}
