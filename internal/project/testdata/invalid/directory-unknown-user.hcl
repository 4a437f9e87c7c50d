directory "data" {
  path = "/data"
  user = "app" # ERROR: Unknown user
}
service "x" {
  command = "/bin/true"
}
