service "x" {
  command = "${option.port}" # ERROR: Unknown variable
}
