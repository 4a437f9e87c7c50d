<?php
// Rendered by PHP-FPM; the web server in front says who it is.
header("Content-Type: text/plain");
printf("PHP %s says 6*7 = %d\n", PHP_VERSION, 6 * 7);
printf("served by %s\n", $_SERVER["SERVER_SOFTWARE"] ?? "unknown");
printf("script %s\n", basename($_SERVER["SCRIPT_FILENAME"] ?? ""));
printf("year %s\n", date("Y"));
