user "web" {
  uid  = 1000
  home = "/x:0:0" # ERROR: Invalid home directory
}
service "x" {
  command = "/bin/true"
}
