# PostgreSQL with a database and its owner, data on a volume.
#   docker run -d -e POSTGRES_PASSWORD=secret -v pgdata:/var/lib/postgresql -p 127.0.0.1:5432:5432 demo/postgresql
module "db" {
  source   = "postgresql"
  database = "app"
  user     = "app"
}
