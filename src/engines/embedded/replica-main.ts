/**
 * Entry of one local embedding replica process (spawned by the local runner): argv[2] is the
 * JSON of ServeEmbeddingsOptions. Prints `{"url": …}` on stdout once listening; exits on
 * SIGTERM/SIGINT, or when the parent goes away (stdin closes).
 */
import { serveEmbeddings } from "./serve.js";

const opts = JSON.parse(process.argv[2] ?? "{}");
try {
  const server = await serveEmbeddings(opts);
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  const stop = () => {
    void server.close().finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdin.on("end", stop);
  process.stdin.resume();
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
  process.exit(1);
}
