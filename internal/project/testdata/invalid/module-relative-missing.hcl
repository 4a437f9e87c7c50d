module "mine" {
  source = "./nothere.hcl" # ERROR: Cannot read module
}
