module "redis" {
  prot = 6380 # ERROR: Unsupported option
}
