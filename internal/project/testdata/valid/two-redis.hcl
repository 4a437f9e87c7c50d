module "cache" {
  source = "redis"
  port   = 6380
}
module "sessions" {
  source   = "redis"
  port     = 6381
  data_dir = "/var/lib/sessions"
}
service "app" {
  command = "${pkgs.busybox}/bin/sleep 1000"
  after   = ["cache", "sessions"]
}
