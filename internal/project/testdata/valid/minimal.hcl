service "hello" {
  command = "${pkgs.busybox}/bin/sleep 1000"
}
