// Answers with ms("2h"): ms comes from a lockfile that names its URL.
const ms = require("ms");
require("http").createServer((req, res) => res.end(`2h is ${ms("2h")} ms\n`)).listen(Number(process.env.PORT));
