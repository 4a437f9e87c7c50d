// A tiny JSON API behind nginx.
"use strict";
const http = require("http");
const port = Number(process.env.PORT || 3000);
const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ path: req.url, forwardedFor: req.headers["x-forwarded-for"] || null }) + "\n");
});
server.listen(port, "127.0.0.1", () => console.log(`api listening on 127.0.0.1:${port}`));
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
}
