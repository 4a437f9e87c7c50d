image {
  ports = [80]
}
image { # ERROR: Duplicate image block
  ports = [81]
}
service "x" {
  command = "/bin/true"
}
