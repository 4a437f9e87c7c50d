# A module's main service takes the instance's name: this one would be `all`.
module "all" { # ERROR: Invalid module name
  source = "redis"
}
