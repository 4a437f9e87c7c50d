// A tiny HTTP server that counts hits in Redis. It speaks Redis' protocol
// (RESP) over a plain socket, so it needs no npm packages.
"use strict";

const http = require("http");
const net = require("net");

const port = Number(process.env.PORT || 8080);
const redisPort = Number(process.env.REDIS_PORT || 6379);
const redisHost = process.env.REDIS_HOST || "127.0.0.1";

// command sends one RESP command and resolves with its reply: a string,
// a number, or null. One connection per command keeps the code short.
function command(...args) {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ host: redisHost, port: redisPort });
    let buf = "";
    sock.setEncoding("utf8");
    sock.on("connect", () => {
      let req = `*${args.length}\r\n`;
      for (const a of args) {
        const s = String(a);
        req += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
      }
      sock.write(req);
    });
    sock.on("data", (chunk) => {
      buf += chunk;
      const end = buf.indexOf("\r\n");
      if (end < 0) return;
      const line = buf.slice(1, end);
      switch (buf[0]) {
        case "+": sock.end(); return resolve(line);
        case ":": sock.end(); return resolve(Number(line));
        case "-": sock.end(); return reject(new Error(line));
        case "$": {
          const n = Number(line);
          if (n < 0) { sock.end(); return resolve(null); }
          if (buf.length < end + 2 + n + 2) return;
          sock.end();
          return resolve(buf.slice(end + 2, end + 2 + n));
        }
        default: sock.end(); return reject(new Error("unexpected reply: " + buf));
      }
    });
    sock.on("error", reject);
  });
}

const server = http.createServer(async (req, res) => {
  if (req.url !== "/") {
    res.writeHead(404, { "content-type": "text/plain" });
    return res.end("not found\n");
  }
  try {
    const hits = await command("INCR", "hits");
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`Hello from nix-docker! This page has been viewed ${hits} times.\n`);
  } catch (err) {
    res.writeHead(503, { "content-type": "text/plain" });
    res.end(`redis: ${err.message}\n`);
  }
});

server.listen(port, () => console.log(`listening on :${port}`));

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
