file "conf" { # ERROR: Missing required argument
  name = "app.conf"
}
service "x" {
  command = "/bin/true"
}
