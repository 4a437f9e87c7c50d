locals {
  a = local.b # ERROR: Local values in a cycle
  b = local.a # ERROR: Local values in a cycle
}
service "x" {
  command = "/bin/true"
}
