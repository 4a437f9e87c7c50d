service "redis" {
  command = "/bin/true"
}
module "redis" {} # ERROR: Duplicate service name
