// Preloaded (`node --import`) into a sim built before /sim/loop-lateness existed, so that
// bench/sim-concurrency.ts reads the same event-loop lateness from every checkout it compares:
// the module of *this* checkout (INFERPLANE_LATENESS_MODULE, its built dist/sim/loop-lateness.js)
// served on a port of its own (INFERPLANE_LATENESS_PORT) with the sim's routes and answers.
import { createServer } from "node:http";

const { readLateness, resetLateness } = await import(process.env.INFERPLANE_LATENESS_MODULE);
// Unreferenced, as are its connections: the sim still exits when its own servers close.
const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  let body;
  if (req.method === "GET" && url.pathname === "/sim/loop-lateness") body = readLateness();
  else if (req.method === "POST" && url.pathname === "/sim/loop-lateness/reset")
    body = resetLateness(url.searchParams.get("scope") === "all");
  res.writeHead(body ? 200 : 404, { "content-type": "application/json" });
  res.end(JSON.stringify(body ?? { error: "not found" }));
  req.resume();
});
server.on("connection", (socket) => socket.unref());
server.listen(Number(process.env.INFERPLANE_LATENESS_PORT), "127.0.0.1").unref();
