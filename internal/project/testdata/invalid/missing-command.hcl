service "x" { # ERROR: Missing required argument
  user = "nobody"
}
