user "app" {
  uid  = 1000
  home = "home/app" # ERROR: Invalid home directory
}
service "x" {
  command = "/bin/true"
}
