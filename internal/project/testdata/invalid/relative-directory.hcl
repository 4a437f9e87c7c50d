service "x" {
  command   = "/bin/true"
  directory = "srv" # ERROR: Invalid directory
}
