service "x" {
  command = "${path("nothere")}/run" # ERROR: Error in function call
}
