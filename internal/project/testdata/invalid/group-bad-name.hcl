group "staff\nwheel" { # ERROR: Invalid group name
  gid = 1000
}
service "x" {
  command = "/bin/true"
}
