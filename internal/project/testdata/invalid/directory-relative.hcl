directory "data" {
  path = "data" # ERROR: Invalid directory path
}
service "x" {
  command = "/bin/true"
}
