// Serves the time from microtime, a native addon whose install script
// (node-gyp-build) finds a prebuilt binary in its package: no compiler needed.
const microtime = require("microtime");
require("http").createServer((req, res) => res.end(`microtime ${microtime.now() > 0 ? "works" : "fails"}\n`)).listen(Number(process.env.PORT));
