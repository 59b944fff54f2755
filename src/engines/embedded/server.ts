/**
 * An embedded embedding replica: `/v1/embeddings` (OpenAI shape), `/v1/models`, `/health`,
 * `/metrics`, in front of one ONNX Runtime model and a bounded queue. Bad input answers 4xx in
 * the OpenAI error shape and the server keeps running.
 */
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyReply } from "fastify";
import { InferplaneError } from "../../errors.js";
import { createRegistry } from "../../telemetry/metrics.js";
import { EmbeddingMetrics } from "./metrics.js";
import type { EmbeddingModel } from "./model.js";
import { EmbedQueue } from "./queue.js";
import { cut, parseEmbeddingRequest, toBase64 } from "./request.js";

export interface EmbeddingServerOptions {
  model: EmbeddingModel;
  /** Name `/v1/models` lists and requests may use; the catalog id is accepted too. */
  servedModelName?: string;
  host?: string;
  port?: number;
  /** Texts waiting at most; beyond, 429. */
  maxQueue?: number;
  /** Texts taken per scheduling step. */
  maxBatch?: number;
}

export interface EmbeddingServerHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

function sendError(reply: FastifyReply, err: InferplaneError): FastifyReply {
  if (err.def.status === 429) reply.header("retry-after", "1");
  return reply.code(err.def.status).send(err.toOpenAI());
}

export async function startEmbeddingServer(opts: EmbeddingServerOptions): Promise<EmbeddingServerHandle> {
  const model = opts.model;
  const id = model.spec.id;
  const served = opts.servedModelName ?? id;
  const registry = createRegistry();
  const metrics = new EmbeddingMetrics(registry);
  const label = { model: served };
  const queue = new EmbedQueue((ids) => model.embedIds(ids), opts.maxQueue ?? 1024, opts.maxBatch ?? 32, {
    depth: (n) => metrics.queueDepth.set(label, n),
    running: (n) => metrics.running.set(label, n),
    batch: (n) => metrics.batchSize.observe(label, n),
  });
  metrics.queueDepth.set(label, 0);
  metrics.running.set(label, 0);
  const created = Math.floor(Date.now() / 1000);
  // The gateway rewrites `model` to the pool's served name (an hf:// source's repo by default).
  const names = new Set([served, id, ...model.spec.variants.map((v) => v.repo)]);

  const app = Fastify({ logger: false, bodyLimit: 32 * 1024 * 1024, forceCloseConnections: true });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof InferplaneError) return sendError(reply, err);
    const status = err.statusCode ?? 500;
    return sendError(
      reply,
      new InferplaneError(
        status === 413 ? "request_too_large" : status < 500 ? "invalid_json" : "internal",
        err.message,
      ),
    );
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, new InferplaneError("not_found", `no route ${req.method} ${req.url.split("?")[0]}`)),
  );

  app.get("/health", async () => ({ status: "ok", model: served }));
  app.get("/v1/models", async () => ({
    object: "list",
    data: [{ id: served, object: "model", created, owned_by: "inferplane", root: id }],
  }));
  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", registry.contentType);
    return registry.metrics();
  });
  app.post("/v1/embeddings", async (req, reply) => {
    const t0 = performance.now();
    let status = 200;
    try {
      const r = parseEmbeddingRequest(req.body, model);
      if (!names.has(r.model)) {
        throw new InferplaneError("model_not_found", `model: "${r.model}" is not served here (${served})`, {
          param: "model",
        });
      }
      const ids = r.inputs.map((x, i) =>
        x.kind === "ids"
          ? model.fromTokenIds(x.ids, r.paramOf(i))
          : model.tokenize(r.inputType === "query" ? model.asQuery(x.text) : x.text),
      );
      const vectors = await queue.submit(ids);
      const tokens = ids.reduce((s, x) => s + x.length, 0);
      metrics.tokens.inc(label, tokens);
      metrics.texts.inc(label, ids.length);
      return {
        object: "list",
        data: vectors.map((v, index) => {
          const out = cut(v, r.dimensions, model.facts.normalize);
          return {
            object: "embedding",
            index,
            embedding: r.encoding === "base64" ? toBase64(out) : Array.from(out),
          };
        }),
        model: served,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      };
    } catch (err) {
      const e =
        err instanceof InferplaneError ? err : new InferplaneError("internal", (err as Error).message);
      status = e.def.status;
      return sendError(reply, e);
    } finally {
      metrics.requests.inc({ ...label, status: String(status) });
      metrics.latency.observe(label, (performance.now() - t0) / 1000);
    }
  });

  await app.listen({ host: opts.host ?? "127.0.0.1", port: opts.port ?? 0 });
  const port = (app.server.address() as AddressInfo).port;
  const host = opts.host ?? "127.0.0.1";
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    close: async () => {
      queue.close();
      await app.close();
    },
  };
}
