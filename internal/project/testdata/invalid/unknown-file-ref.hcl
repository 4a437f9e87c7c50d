file "conf" {
  text = "x"
}
service "x" {
  command = "/bin/cat ${file.config}" # ERROR: Unsupported attribute
}
