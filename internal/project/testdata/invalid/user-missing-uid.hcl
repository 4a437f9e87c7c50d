user "app" { # ERROR: Missing required argument
  home = "/srv"
}
service "x" {
  command = "/bin/true"
}
