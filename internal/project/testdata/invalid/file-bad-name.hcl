file "conf" {
  name = ".hidden" # ERROR: Invalid file name
  text = "x"
}
service "x" {
  command = "/bin/true"
}
