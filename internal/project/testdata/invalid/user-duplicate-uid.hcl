user "app" {
  uid = 1000
}
user "web" { # ERROR: Duplicate uid
  uid = 1000
}
service "x" {
  command = "/bin/true"
}
