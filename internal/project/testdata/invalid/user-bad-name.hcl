# A user name lands in /etc/passwd, whose fields ':' separates.
user "web:x:0:0::/:/bin/sh" { # ERROR: Invalid user name
  uid = 1000
}
service "x" {
  command = "/bin/true"
}
