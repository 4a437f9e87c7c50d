option "port" {
  type    = number
  default = "eighty" # ERROR: Incorrect value type
}
