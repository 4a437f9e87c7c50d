directory "data" {
  path = "/data"
  mode = "rwx" # ERROR: Invalid mode
}
service "x" {
  command = "/bin/true"
}
