module "redis" {}
module "redis" {} # ERROR: Duplicate module "redis"
