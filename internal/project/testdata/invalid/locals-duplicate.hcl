locals {
  a = "x"
}
locals {
  a = "y" # ERROR: Duplicate local value
}
service "x" {
  command = "/bin/${local.a}"
}
