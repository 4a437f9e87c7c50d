module "rediss" {} # ERROR: Unknown module
