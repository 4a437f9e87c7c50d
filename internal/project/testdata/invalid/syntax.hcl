service "x" { # ERROR: Unclosed configuration block
  command = "/bin/true"
