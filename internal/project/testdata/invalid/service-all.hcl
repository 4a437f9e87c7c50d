# `all` stands for every service in the init's control commands.
service "all" { # ERROR: Invalid service name
  command = "/bin/true"
}
