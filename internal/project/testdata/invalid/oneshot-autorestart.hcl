service "setup" {
  command     = "/bin/true"
  oneshot     = true
  autorestart = true # ERROR: One-shot service restarted
}
