module "again" { # ERROR: Module cycle
  source = "./module-cycle.hcl"
}
