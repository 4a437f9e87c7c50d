module "mine" {
  source = "./modules/user-module-errors.hcl"
}
