/**
 * `/v1/rag/*` on the gateway's fastify app. Bodies are checked with zod; a bad field answers
 * 400 `invalid_request` naming its path. Answers stream as SSE: first a `rag.sources` event,
 * then the model's chat-completion chunks.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Registry } from "prom-client";
import { z } from "zod";
import { InferplaneError } from "../errors.js";
import { callerOf, internalRequestHeaders } from "../gateway/policy/index.js";
import { credentialOf, inScope } from "../gateway/policy/keys.js";
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
import { type ParseLimits, parseLimitsOf } from "./ingest/limits.js";
// The service and the loaders (tokenizer, PDF parser, stores: ~33 MB of heap) load on the first
// RAG request, so a gateway without RAG does not carry them (a larger heap makes every GC slower).
import type { RagService } from "./service.js";
import type { SearchFilter, SourceDocument } from "./types.js";

const Timestamp = z.union([
  z.number(),
  z.string().transform((s, ctx) => {
    const t = Date.parse(s);
    if (Number.isNaN(t))
      ctx.addIssue({ code: "custom", message: "an ISO date or milliseconds since the epoch" });
    return t;
  }),
]);

const Filter = z.strictObject({
  source: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
  timestampFrom: Timestamp.optional(),
  timestampTo: Timestamp.optional(),
});

const CreateCollection = z.strictObject({
  name: z.string(),
  embedding: z.strictObject({ route: z.string(), dimensions: z.number().int().positive() }).optional(),
});

const Documents = z.strictObject({
  documents: z
    .array(
      z.strictObject({
        id: z.string().min(1).optional(),
        title: z.string().optional(),
        text: z.string().optional(),
        url: z.string().optional(),
        source: z.string().optional(),
        timestamp: Timestamp.optional(),
        metadata: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1),
});

const Search = z.strictObject({
  query: z.string().min(1),
  k: z.number().int().positive().max(1000).optional(),
  mode: z.enum(["dense", "sparse", "hybrid"]).optional(),
  filter: Filter.optional(),
  rerank: z.union([z.boolean(), z.strictObject({ topN: z.number().int().positive().optional() })]).optional(),
  fusion: z
    .union([
      z.strictObject({ method: z.literal("rrf"), k: z.number().int().positive().optional() }),
      z.strictObject({ method: z.literal("weighted"), dense: z.number(), sparse: z.number() }),
    ])
    .optional(),
});

const Answer = z.looseObject({
  query: z.string().min(1),
  collection: z.string(),
  stream: z.boolean().optional(),
  k: z.number().int().positive().max(100).optional(),
  mode: z.enum(["dense", "sparse", "hybrid"]).optional(),
  filter: Filter.optional(),
});

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.join(".") || "(body)";
    throw new InferplaneError("invalid_request", `${path}: ${issue?.message ?? "invalid"}`);
  }
  return r.data;
}

function filterOf(f: z.output<typeof Filter> | undefined): SearchFilter | undefined {
  if (!f) return undefined;
  return {
    ...(f.source !== undefined ? { source: f.source } : {}),
    ...(f.timestampFrom !== undefined ? { timestampFrom: f.timestampFrom } : {}),
    ...(f.timestampTo !== undefined ? { timestampTo: f.timestampTo } : {}),
  };
}

async function multipartDocuments(
  request: FastifyRequest,
  maxBytes: number,
  limits: ParseLimits,
): Promise<SourceDocument[]> {
  // The body is handed to a worker thread (moved, not copied): the multipart split, the file
  // copies and every loader run there, with the spec's limits; this loop only waits.
  const { multipartIsolated } = await import("./ingest/isolate.js");
  return multipartIsolated(
    request.body as Buffer,
    String(request.headers["content-type"]),
    maxBytes,
    Date.now(),
    limits,
  );
}

/**
 * The headers of the RAG request being served: its model calls (embed, rerank, chat) go back
 * through this gateway with the caller's own key, so they pass the same admission as any other
 * call (model scopes, TPM, budget) and are charged to that key. The internal header only says
 * the RAG route already counted the request; it admits nothing without the key.
 */
const callerHeaders = new AsyncLocalStorage<Record<string, string>>();

function asCaller<T>(request: FastifyRequest, fn: () => Promise<T>): Promise<T> {
  const credential = credentialOf(request.headers);
  const headers = credential ? { authorization: `Bearer ${credential}`, ...internalRequestHeaders() } : {};
  return callerHeaders.run(headers, fn);
}

export interface RagRoutesOptions {
  rag: () => RagSpec | undefined;
  gatewayUrl: () => string;
  registry: Registry;
  /** The gateway's tracer: one SERVER span per search, answer and ingest request, stage spans under it. */
  tracing?: Tracing;
}

/** Registers /v1/rag/* when the spec has a rag section; opens the store on first use. */
export function registerRagRoutes(app: FastifyInstance, opts: RagRoutesOptions): void {
  const tracing = opts.tracing ?? TRACING_OFF;
  /** Runs a handler inside its request span, continuing the caller's `traceparent`. */
  const traced = <T>(
    request: FastifyRequest,
    name: string,
    attributes: Attributes,
    fn: (span: Span | undefined) => Promise<T>,
  ): Promise<T> =>
    tracing.tracer
      ? withSpan(tracing, name, attributes, fn, extractContext(request.headers), SpanKind.SERVER)
      : fn(undefined);
  let service: Promise<RagService> | undefined;
  const svc = async (): Promise<RagService> => {
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
    const s = await service;
    s.updateSpec(spec);
    return s;
  };
  app.addHook("onClose", async () => {
    if (service) await (await service).close();
  });

  app.register(async (scope) => {
    scope.addContentTypeParser("multipart/form-data", { parseAs: "buffer" }, (_req, body, done) =>
      done(null, body),
    );

    scope.post("/v1/rag/collections", async (request, reply) => {
      const body = parse(CreateCollection, request.body);
      const info = await (await svc()).createCollection({
        name: body.name,
        ...(body.embedding
          ? { embeddingRoute: body.embedding.route, dimensions: body.embedding.dimensions }
          : {}),
      });
      return reply.code(201).send(info);
    });
    scope.get("/v1/rag/collections", async (request) => {
      const key = callerOf(request.raw);
      const all = await (await svc()).store.listCollections();
      return { object: "list", data: key ? all.filter((c) => inScope(key.collections, c.name)) : all };
    });
    scope.get<{ Params: { name: string } }>("/v1/rag/collections/:name", async (request) =>
      (await svc()).collection(request.params.name),
    );
    scope.delete<{ Params: { name: string } }>("/v1/rag/collections/:name", async (request) => {
      const deleted = await (await svc()).store.dropCollection(request.params.name);
      if (!deleted)
        throw new InferplaneError("rag_collection_not_found", `no collection named "${request.params.name}"`);
      return { name: request.params.name, deleted: true };
    });

    scope.post<{ Params: { name: string } }>("/v1/rag/collections/:name/documents", (request) =>
      asCaller(request, () =>
        traced(request, "rag.ingest", { "inferplane.rag.collection": request.params.name }, async (span) => {
          const s = await svc();
          await s.collection(request.params.name);
          let docs: SourceDocument[];
          const ingest = s.config.ingest;
          const limits = parseLimitsOf(ingest);
          if (Buffer.isBuffer(request.body))
            docs = await multipartDocuments(request, ingest.maxBytes, limits);
          else {
            const body = parse(Documents, request.body);
            docs = [];
            for (const [i, d] of body.documents.entries()) {
              if (d.url !== undefined) {
                if (d.text !== undefined)
                  throw new InferplaneError("invalid_request", `documents.${i}: give text or url, not both`);
                const { fetchUrlDocument } = await import("./ingest/url.js");
                docs.push(
                  ...(await fetchUrlDocument(d.url, {
                    allowPrivateNetworks: ingest.allowPrivateNetworks,
                    allowHosts: ingest.allowHosts,
                    maxBytes: ingest.maxBytes,
                    timeoutMs: ingest.timeout,
                    parse: limits,
                  })),
                );
                continue;
              }
              if (d.text === undefined)
                throw new InferplaneError("invalid_request", `documents.${i}.text: required (or url)`);
              if (d.id === undefined)
                throw new InferplaneError("invalid_request", `documents.${i}.id: required with text`);
              docs.push({
                id: d.id,
                ...(d.title !== undefined ? { title: d.title } : {}),
                text: d.text,
                source: d.source ?? "api",
                timestamp: d.timestamp ?? Date.now(),
                ...(d.metadata ? { metadata: d.metadata } : {}),
              });
            }
          }
          span?.setAttribute("inferplane.rag.documents", docs.length);
          const report = await s.ingest(request.params.name, docs, undefined, span);
          span?.setAttribute("inferplane.rag.chunks", report.chunks);
          return { object: "rag.ingest", collection: request.params.name, ...report };
        }),
      ),
    );
    scope.delete<{ Params: { name: string; id: string } }>(
      "/v1/rag/collections/:name/documents/:id",
      async (request) => {
        const s = await svc();
        await s.collection(request.params.name);
        const deleted = await s.store.deleteDocument(request.params.name, request.params.id);
        if (!deleted)
          throw new InferplaneError(
            "not_found",
            `no document "${request.params.id}" in "${request.params.name}"`,
          );
        return { id: request.params.id, deleted: true };
      },
    );

    scope.post<{ Params: { name: string } }>("/v1/rag/collections/:name/search", (request) =>
      asCaller(request, () =>
        traced(request, "rag.search", { "inferplane.rag.collection": request.params.name }, async (span) => {
          const s = await svc();
          const body = parse(Search, request.body);
          const filter = filterOf(body.filter);
          const topN = typeof body.rerank === "object" ? body.rerank.topN : undefined;
          const k = body.k ?? s.config.retrieval.k;
          const mode = body.mode ?? s.config.retrieval.mode;
          span?.setAttributes({
            "inferplane.rag.mode": mode,
            "inferplane.rag.k": k,
            "inferplane.rag.rerank": !!body.rerank,
          });
          const { hits, timings } = await s.search(
            request.params.name,
            {
              query: body.query,
              k,
              mode,
              ...(filter ? { filter } : {}),
              ...(body.rerank ? { rerank: topN !== undefined ? { topN } : {} } : {}),
              ...(body.fusion ? { fusion: body.fusion } : {}),
            },
            span,
          );
          span?.setAttribute("inferplane.rag.hits", hits.length);
          return { object: "list", data: hits, timings };
        }),
      ),
    );

    scope.post("/v1/rag/answer", (request, reply: FastifyReply) =>
      asCaller(request, () => traced(request, "rag.answer", {}, (span) => answer(request, reply, span))),
    );
    const answer = async (request: FastifyRequest, reply: FastifyReply, span: Span | undefined) => {
      const s = await svc();
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
      span?.setAttribute(
        "inferplane.rag.sources",
        result.kind === "json"
          ? ((result.body.sources as unknown[] | undefined)?.length ?? 0)
          : result.sources.length,
      );
      if (result.kind === "json") return result.body;
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      raw.write(`data: ${JSON.stringify({ object: "rag.sources", sources: result.sources })}\n\n`);
      try {
        for await (const part of result.body) raw.write(part);
      } catch (err) {
        raw.write(
          `data: ${JSON.stringify({ error: { message: (err as Error).message, type: "server_error", code: "upstream_stream_error" } })}\n\n`,
        );
        if (span) recordError(span, err, "upstream_stream_error");
      }
      raw.end();
    };
  });
}
