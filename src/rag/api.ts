/**
 * `/v1/rag/*` on the gateway's fastify app (bodies: api-bodies.ts). Answers stream as SSE: first
 * a `rag.sources` event, then the model's chat-completion chunks. What the gateway knows about
 * the caller (its key's collection scopes, the credential its model calls carry) comes in through
 * `RagCaller`, so RAG needs nothing from the gateway's internals.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Registry } from "prom-client";
import { InferplaneError } from "../errors.js";
import type { RagSpec } from "../spec/schema.js";
import {
  type Attributes,
  extractContext,
  recordError,
  type Span,
  SpanKind,
  TRACING_OFF,
  type Tracing,
  withSpan,
} from "../telemetry/tracing.js";
import {
  Answer,
  CreateCollection,
  Documents,
  documentsOf,
  filterOf,
  parse,
  Search,
  searchRequestOf,
} from "./api-bodies.js";
import { parseLimitsOf } from "./ingest/limits.js";
// The service and the loaders (tokenizer, PDF parser, stores: ~33 MB of heap) load on the first
// RAG request, so a gateway without RAG does not carry them (a larger heap makes every GC slower).
import type { RagService } from "./service.js";
import type { SourceDocument } from "./types.js";

/** The gateway's view of the caller of a RAG request. */
export interface RagCaller {
  /** Whether the caller's key may see a collection (true when the gateway runs without keys). */
  mayUse(request: IncomingMessage, collection: string): boolean;
  /**
   * Headers for the model calls (embed, rerank, chat) made on the caller's behalf: they go back
   * through the gateway with the caller's own key, so they pass the same admission as any other
   * call (model scopes, TPM, budget) and are charged to that key.
   */
  headers(request: IncomingHttpHeaders): Record<string, string>;
}

export interface RagRoutesOptions {
  rag: () => RagSpec | undefined;
  gatewayUrl: () => string;
  registry: Registry;
  /** The gateway's tracer: one SERVER span per search, answer and ingest request, stage spans under it. */
  tracing?: Tracing;
  /** Default: no keys (every collection visible, no credential forwarded). */
  caller?: RagCaller;
}

const NO_KEYS: RagCaller = { mayUse: () => true, headers: () => ({}) };

/** What the route handlers share. */
interface RagRoutes {
  /** The service, opened on first use, with the spec's current rag section. */
  svc(): Promise<RagService>;
  /** Runs `fn` inside the request's span (continuing the caller's `traceparent`) as the caller. */
  handle<T>(
    request: FastifyRequest,
    name: string,
    attributes: Attributes,
    fn: (span: Span | undefined) => Promise<T>,
  ): Promise<T>;
  caller: RagCaller;
}

/** Registers /v1/rag/* when the spec has a rag section; opens the store on first use. */
export function registerRagRoutes(app: FastifyInstance, opts: RagRoutesOptions): void {
  const tracing = opts.tracing ?? TRACING_OFF;
  const caller = opts.caller ?? NO_KEYS;
  // The headers of the RAG request being served, for the service's model calls.
  const callerHeaders = new AsyncLocalStorage<Record<string, string>>();
  let service: Promise<RagService> | undefined;
  const routes: RagRoutes = {
    caller,
    async svc() {
      const spec = opts.rag();
      if (!spec?.enabled)
        throw new InferplaneError("not_found", "RAG is not enabled in this spec (rag.enabled)");
      service ??= import("./service.js").then(({ RagService }) =>
        RagService.open(spec, {
          gatewayUrl: opts.gatewayUrl,
          registry: opts.registry,
          headers: () => callerHeaders.getStore() ?? {},
          tracing,
        }),
      );
      const opening = service;
      // A store that could not be opened (down, or a bad path) is tried again by the next request.
      const s = await opening.catch((err: unknown) => {
        if (service === opening) service = undefined;
        throw err;
      });
      s.updateSpec(spec);
      return s;
    },
    handle(request, name, attributes, fn) {
      const traced = () =>
        tracing.tracer
          ? withSpan(tracing, name, attributes, fn, extractContext(request.headers), SpanKind.SERVER)
          : fn(undefined);
      return callerHeaders.run(caller.headers(request.headers), traced);
    },
  };
  app.addHook("onClose", async () => {
    const s = await service?.catch(() => undefined);
    await s?.close();
  });
  app.register(async (scope) => {
    scope.addContentTypeParser("multipart/form-data", { parseAs: "buffer" }, (_req, body, done) =>
      done(null, body),
    );
    collectionRoutes(scope, routes);
    documentRoutes(scope, routes);
    searchRoute(scope, routes);
    answerRoute(scope, routes);
  });
}

function collectionRoutes(scope: FastifyInstance, r: RagRoutes): void {
  scope.post("/v1/rag/collections", async (request, reply) => {
    const body = parse(CreateCollection, request.body);
    const info = await (await r.svc()).createCollection({
      name: body.name,
      ...(body.embedding
        ? { embeddingRoute: body.embedding.route, dimensions: body.embedding.dimensions }
        : {}),
    });
    return reply.code(201).send(info);
  });
  scope.get("/v1/rag/collections", async (request) => {
    const all = await (await r.svc()).store.listCollections();
    return { object: "list", data: all.filter((c) => r.caller.mayUse(request.raw, c.name)) };
  });
  scope.get<{ Params: { name: string } }>("/v1/rag/collections/:name", async (request) =>
    (await r.svc()).collection(request.params.name),
  );
  scope.delete<{ Params: { name: string } }>("/v1/rag/collections/:name", async (request) => {
    const deleted = await (await r.svc()).store.dropCollection(request.params.name);
    if (!deleted)
      throw new InferplaneError("rag_collection_not_found", `no collection named "${request.params.name}"`);
    return { name: request.params.name, deleted: true };
  });
}

function documentRoutes(scope: FastifyInstance, r: RagRoutes): void {
  scope.post<{ Params: { name: string } }>("/v1/rag/collections/:name/documents", (request) =>
    r.handle(request, "rag.ingest", { "inferplane.rag.collection": request.params.name }, async (span) => {
      const s = await r.svc();
      await s.collection(request.params.name);
      const ingest = s.config.ingest;
      const limits = parseLimitsOf(ingest);
      let docs: SourceDocument[];
      if (Buffer.isBuffer(request.body)) {
        // The body is handed to a worker thread (moved, not copied): the multipart split, the
        // file copies and every loader run there, with the spec's limits; this loop only waits.
        const { multipartIsolated } = await import("./ingest/isolate.js");
        const type = String(request.headers["content-type"]);
        docs = await multipartIsolated(request.body, type, ingest.maxBytes, Date.now(), limits);
      } else docs = await documentsOf(parse(Documents, request.body), ingest, limits);
      span?.setAttribute("inferplane.rag.documents", docs.length);
      const report = await s.ingest(request.params.name, docs, undefined, span);
      span?.setAttribute("inferplane.rag.chunks", report.chunks);
      return { object: "rag.ingest", collection: request.params.name, ...report };
    }),
  );
  scope.delete<{ Params: { name: string; id: string } }>(
    "/v1/rag/collections/:name/documents/:id",
    async (request) => {
      const { name, id } = request.params;
      const s = await r.svc();
      await s.collection(name);
      if (!(await s.store.deleteDocument(name, id)))
        throw new InferplaneError("not_found", `no document "${id}" in "${name}"`);
      return { id, deleted: true };
    },
  );
}

function searchRoute(scope: FastifyInstance, r: RagRoutes): void {
  scope.post<{ Params: { name: string } }>("/v1/rag/collections/:name/search", (request) =>
    r.handle(request, "rag.search", { "inferplane.rag.collection": request.params.name }, async (span) => {
      const s = await r.svc();
      const body = parse(Search, request.body);
      const req = searchRequestOf(body, s.config.retrieval);
      span?.setAttributes({
        "inferplane.rag.mode": req.mode,
        "inferplane.rag.k": req.k,
        "inferplane.rag.rerank": !!body.rerank,
      });
      const { hits, timings } = await s.search(request.params.name, req, span);
      span?.setAttribute("inferplane.rag.hits", hits.length);
      return { object: "list", data: hits, timings };
    }),
  );
}

function answerRoute(scope: FastifyInstance, r: RagRoutes): void {
  scope.post("/v1/rag/answer", (request, reply: FastifyReply) =>
    r.handle(request, "rag.answer", {}, async (span) => {
      const s = await r.svc();
      const { query, collection, stream, k, mode, filter, ...params } = parse(Answer, request.body);
      const f = filterOf(filter);
      span?.setAttributes({
        "inferplane.rag.collection": collection,
        "inferplane.rag.mode": mode ?? s.config.retrieval.mode,
        "inferplane.rag.k": k ?? s.config.retrieval.k,
        "inferplane.stream": stream === true,
      });
      const result = await s.answer(
        {
          query,
          collection,
          ...(stream !== undefined ? { stream } : {}),
          ...(k !== undefined ? { k } : {}),
          ...(mode ? { mode } : {}),
          ...(f ? { filter: f } : {}),
          params,
        },
        span,
      );
      const sources =
        result.kind === "json"
          ? ((result.body.sources as unknown[] | undefined)?.length ?? 0)
          : result.sources.length;
      span?.setAttribute("inferplane.rag.sources", sources);
      if (result.kind === "json") return result.body;
      reply.hijack();
      await streamAnswer(reply, result.sources, result.body, span);
      return undefined;
    }),
  );
}

/** The SSE answer: the sources, the model's chunks, and a final error event if the model fails mid-stream. */
async function streamAnswer(
  reply: FastifyReply,
  sources: unknown,
  body: AsyncIterable<string | Uint8Array>,
  span: Span | undefined,
): Promise<void> {
  const raw = reply.raw;
  raw.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  raw.write(`data: ${JSON.stringify({ object: "rag.sources", sources })}\n\n`);
  try {
    for await (const part of body) raw.write(part);
  } catch (err) {
    const e = new InferplaneError("upstream_stream_error", (err as Error).message, { cause: err });
    raw.write(`data: ${JSON.stringify(e.toOpenAI())}\n\n`);
    if (span) recordError(span, err, e.code);
  }
  raw.end();
}
