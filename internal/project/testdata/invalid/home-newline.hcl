# A newline in home would add a line to /etc/passwd (nobody as uid 0).
user "web" {
  uid  = 1000
  home = "/x\nnobody:x:0:0::/:/bin/sh" # ERROR: Invalid home directory
}
service "x" {
  command = "/bin/true"
  user    = "web"
}
