// Loads heapdump, a native addon that node-gyp must compile.
require("heapdump");
require("http").createServer((req, res) => res.end("native\n")).listen(Number(process.env.PORT));
