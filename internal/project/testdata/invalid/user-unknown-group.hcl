user "app" {
  uid    = 1000
  groups = ["wheeel"] # ERROR: Unknown group
}
service "x" {
  command = "/bin/true"
}
