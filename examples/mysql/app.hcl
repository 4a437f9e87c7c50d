# MariaDB with a database and a user, data on a volume.
#   docker run -d -e MYSQL_PASSWORD=secret -v mysqldata:/var/lib/mysql -p 127.0.0.1:3306:3306 demo/mysql
module "db" {
  source   = "mysql"
  database = "app"
  user     = "app"
}
