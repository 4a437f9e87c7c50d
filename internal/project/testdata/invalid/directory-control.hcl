directory "data" {
  path = "/data\nx" # ERROR: Invalid directory path
}
service "x" {
  command = "/bin/true"
}
