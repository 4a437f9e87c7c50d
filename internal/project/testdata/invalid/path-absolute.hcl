service "x" {
  command = "${path("/etc")}/x" # ERROR: Error in function call
}
