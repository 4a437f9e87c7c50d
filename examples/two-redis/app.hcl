# Two instances of one module, on their own ports and data directories; the
# package set is pinned in the file (the offline set, for the tests), and one
# instance takes its package from a raw Nix expression.

nixpkgs {
  path = "../../testdata/nixpkgs"
}

module "cache" {
  source = "redis"
  port   = 6380
}

module "sessions" {
  source   = "redis"
  port     = 6381
  data_dir = "/var/lib/sessions"
  package  = nix("pkgs.redis")
}
