module "loop" {
  source = "./modules/module-cycle.hcl"
}
