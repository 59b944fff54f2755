/**
 * `inferplane embed-serve`: one embedded-engine replica until SIGINT/SIGTERM (the container
 * command of a Kubernetes embedding Deployment). Flags become ServeEmbeddingsOptions.
 */
import { InferplaneError } from "../errors.js";
import type { CliIO } from "./io.js";

export interface EmbedServeOptions {
  model: string;
  servedModelName?: string;
  host: string;
  port: string;
  cacheDir?: string;
  fetch?: boolean;
  threads: string;
  maxQueue: string;
  maxBatch: string;
}

function int(flag: string, v: string, min: number): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < min)
    throw new InferplaneError("usage", `--${flag} must be an integer >= ${min}, got "${v}"`);
  return n;
}

export async function embedServeCommand(opts: EmbedServeOptions, io: CliIO): Promise<number> {
  const port = int("port", opts.port, 0);
  if (port > 65535) throw new InferplaneError("usage", `--port must be a port number, got "${opts.port}"`);
  const { defaultCacheDir, embeddedModel, ensureModelFiles, serveEmbeddings } = await import(
    "../engines/embedded/index.js"
  );
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  if (opts.fetch) {
    await ensureModelFiles(cacheDir, embeddedModel(opts.model).artifact, { progress: (m) => io.err(m) });
  }
  const server = await serveEmbeddings({
    model: opts.model,
    ...(opts.servedModelName ? { servedModelName: opts.servedModelName } : {}),
    host: opts.host,
    port,
    cacheDir,
    threads: int("threads", opts.threads, 1),
    maxQueue: int("max-queue", opts.maxQueue, 1),
    maxBatch: int("max-batch", opts.maxBatch, 1),
  });
  io.out(`embedding ${opts.model} on ${server.url} (/v1/embeddings, /metrics)`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await server.close();
  return 0;
}
