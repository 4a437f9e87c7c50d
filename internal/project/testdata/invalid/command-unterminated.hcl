service "x" {
  command = "${pkgs.nodejs}/bin/node \"a b.js" # ERROR: Command cannot be split
}

service "y" {
  command = "${pkgs.redis}/bin/redis-server"
  ready {
    command = "${pkgs.redis}/bin/redis-cli ping 'x" # ERROR: Command cannot be split
  }
}
