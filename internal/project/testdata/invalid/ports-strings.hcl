image {
  ports = ["80"] # ERROR: Incorrect value type
}
service "x" {
  command = "/bin/true"
}
