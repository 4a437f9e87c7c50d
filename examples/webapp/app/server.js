// The webapp: an Express server that counts hits in Redis, with the
// `redis` client from npm. Both come from package-lock.json (the node
// module builds node_modules from it); nothing is installed on the host.
"use strict";

const express = require("express");
const { createClient } = require("redis");

const port = Number(process.env.PORT || 8080);
const redis = createClient({ url: process.env.REDIS_URL || "redis://127.0.0.1:6379" });
redis.on("error", (err) => console.error(`redis: ${err.message}`));

const app = express();

app.get("/", async (req, res) => {
  try {
    const hits = await redis.incr("hits");
    res.type("text/plain").send(`Hello from nix-docker! This page has been viewed ${hits} times.\n`);
  } catch (err) {
    res.status(503).type("text/plain").send(`redis: ${err.message}\n`);
  }
});

async function main() {
  await redis.connect();
  const server = app.listen(port, () => console.log(`listening on :${port}`));
  for (const sig of ["SIGTERM", "SIGINT"]) {
    process.on(sig, () => {
      server.close(() => redis.close().finally(() => process.exit(0)));
      server.closeAllConnections();
    });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
