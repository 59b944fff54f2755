/**
 * The RAG service behind `/v1/rag/*` and `inferplane rag`: collections, ingestion, search and
 * grounded answers on one store, with embeddings, rerank and chat through a gateway's router.
 */
import type { Registry } from "prom-client";
import { InferplaneError } from "../errors.js";
import type { RagSpec } from "../spec/schema.js";
import {
  contextWith,
  recordError,
  type Span,
  TRACING_OFF,
  type Tracing,
  withSpan,
} from "../telemetry/tracing.js";
import { buildMessages, citedIndexes, NOT_FOUND, type Source, selectSources } from "./answer.js";
import {
  chatCompletion,
  chatCompletionStream,
  type Embedder,
  GatewayEmbedder,
  GatewayReranker,
  type HeaderSource,
  type Reranker,
} from "./clients.js";
import { type IngestReport, ingestDocuments } from "./ingest/pipeline.js";
import { fetchUrlDocument } from "./ingest/url.js";
import { RagMetrics } from "./metrics.js";
import { type SearchMode, type SearchRequest, search } from "./retrieve/search.js";
import { createStore } from "./stores/index.js";
import type { CollectionInfo, Hit, RagStore, SearchFilter, SourceDocument } from "./types.js";

export const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export interface RagServiceOptions {
  /** Base URL of the gateway whose router serves embeddings, rerank and chat. */
  gatewayUrl: () => string;
  registry?: Registry;
  store?: RagStore;
  /** Headers for those calls (the gateway's internal token, or an API key). */
  headers?: HeaderSource;
  /** Turns off embeddings (BM25-only ingestion), e.g. for evaluation without a model. */
  noEmbeddings?: boolean;
  /** Stage spans under the request span each call is given (the gateway's tracer); off by default. */
  tracing?: Tracing;
}

export interface AnswerRequest {
  query: string;
  collection: string;
  k?: number;
  mode?: SearchMode;
  filter?: SearchFilter;
  stream?: boolean;
  /** Extra chat parameters (temperature, max_tokens…) passed to the model. */
  params?: Record<string, unknown>;
}

export type AnswerResult =
  | { kind: "json"; body: Record<string, unknown> }
  | { kind: "stream"; sources: Source[]; body: AsyncIterable<Buffer> };

export class RagService {
  readonly metrics: RagMetrics;

  private constructor(
    private spec: RagSpec,
    readonly store: RagStore,
    private readonly opts: RagServiceOptions,
  ) {
    this.metrics = new RagMetrics(opts.registry);
  }

  private get tracing(): Tracing {
    return this.opts.tracing ?? TRACING_OFF;
  }

  private get headers(): HeaderSource {
    return this.opts.headers ?? (() => ({}));
  }

  static async open(spec: RagSpec, opts: RagServiceOptions): Promise<RagService> {
    return new RagService(spec, opts.store ?? (await createStore(spec.stores)), opts);
  }

  /** Routes and limits follow the spec on reload; the store stays the one opened at start. */
  updateSpec(spec: RagSpec): void {
    this.spec = spec;
  }

  get config(): RagSpec {
    return this.spec;
  }

  embedderFor(info: CollectionInfo): Embedder | undefined {
    if (this.opts.noEmbeddings) return undefined;
    return new GatewayEmbedder(
      this.opts.gatewayUrl,
      info.embeddingRoute,
      this.spec.embedding.batchSize,
      this.headers,
      this.spec.embedding.inputType,
    );
  }

  reranker(): Reranker | undefined {
    const r = this.spec.rerank;
    return r ? new GatewayReranker(this.opts.gatewayUrl, r.route, this.headers) : undefined;
  }

  async collection(name: string): Promise<CollectionInfo> {
    const info = await this.store.getCollection(name);
    if (!info) throw new InferplaneError("rag_collection_not_found", `no collection named "${name}"`);
    return info;
  }

  async createCollection(req: {
    name: string;
    embeddingRoute?: string;
    dimensions?: number;
  }): Promise<CollectionInfo> {
    if (!COLLECTION_NAME.test(req.name)) {
      throw new InferplaneError(
        "invalid_request",
        `name: "${req.name}" is not a collection name (letters, digits, "-" and "_", at most 63, starting with a letter or digit)`,
      );
    }
    await this.store.createCollection({
      name: req.name,
      embeddingRoute: req.embeddingRoute ?? this.spec.embedding.route,
      dimensions: req.dimensions ?? this.spec.embedding.dimensions,
      createdAt: Date.now(),
    });
    return this.collection(req.name);
  }

  /** The collection, created with the spec's embedding model when missing. */
  async ensureCollection(name: string): Promise<CollectionInfo> {
    return (await this.store.getCollection(name)) ?? this.createCollection({ name });
  }

  async ingest(
    collection: string,
    docs: SourceDocument[],
    onProgress?: (p: { documents: number; total: number; chunks: number }) => void,
    parent?: Span,
  ): Promise<IngestReport> {
    const info = await this.collection(collection);
    const embedder = this.embedderFor(info);
    return ingestDocuments(this.store, collection, docs, {
      chunking: this.spec.chunking,
      ...(embedder ? { embedder } : {}),
      metrics: this.metrics,
      ...(onProgress ? { onProgress } : {}),
      ...(parent ? { tracing: this.tracing, parent } : {}),
    });
  }

  async fetchUrl(url: string): Promise<SourceDocument[]> {
    const i = this.spec.ingest;
    return fetchUrlDocument(url, {
      allowPrivateNetworks: i.allowPrivateNetworks,
      allowHosts: i.allowHosts,
      maxBytes: i.maxBytes,
      timeoutMs: i.timeout,
    });
  }

  async search(
    collection: string,
    req: Omit<SearchRequest, "candidates" | "fusion"> & Partial<SearchRequest>,
    parent?: Span,
  ) {
    const info = await this.collection(collection);
    const embedder = req.mode === "sparse" ? undefined : this.embedderFor(info);
    const reranker = req.rerank ? this.reranker() : undefined;
    return search(
      {
        store: this.store,
        metrics: this.metrics,
        ...(embedder ? { embedder } : {}),
        ...(reranker ? { reranker } : {}),
        ...(parent ? { tracing: this.tracing, parent } : {}),
      },
      collection,
      {
        candidates: this.spec.retrieval.candidates,
        fusion: this.defaultFusion(),
        ...req,
      },
    );
  }

  /** The spec's fusion (rag.retrieval.fusion, denseWeight, rrfK). */
  defaultFusion(): NonNullable<SearchRequest["fusion"]> {
    const r = this.spec.retrieval;
    return r.fusion === "rrf"
      ? { method: "rrf", k: r.rrfK }
      : { method: "weighted", dense: r.denseWeight, sparse: 1 - r.denseWeight };
  }

  /** With `parent` (the request span), stage spans: embed, retrieve, rerank, then `rag.generate`. */
  async answer(req: AnswerRequest, parent?: Span): Promise<AnswerResult> {
    const a = this.spec.answer;
    if (!a) throw new InferplaneError("invalid_request", "answers need rag.answer.route in the spec");
    const k = req.k ?? this.spec.retrieval.k;
    const rerank = this.spec.rerank ? { topN: Math.min(this.spec.rerank.topN, k) } : undefined;
    const { hits } = await this.search(
      req.collection,
      {
        query: req.query,
        k,
        mode: req.mode ?? this.spec.retrieval.mode,
        ...(req.filter ? { filter: req.filter } : {}),
        ...(rerank ? { rerank } : {}),
      },
      parent,
    );
    const relevant: Hit[] =
      rerank && a.minScore !== undefined ? hits.filter((h) => h.score >= (a.minScore as number)) : hits;
    const sources = selectSources(relevant, a.maxContextTokens);
    if (sources.length === 0) {
      const body = {
        id: `rag-${Date.now().toString(36)}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: a.route,
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: NOT_FOUND(req.collection) },
            finish_reason: "stop",
          },
        ],
        sources: [],
        citations: [],
        found: false,
      };
      if (req.stream) return { kind: "stream", sources, body: notFoundStream(body) };
      return { kind: "json", body };
    }
    const messages = buildMessages(req.collection, req.query, sources);
    const chat = { ...(req.params ?? {}), model: a.route, messages };
    const t0 = performance.now();
    const generateAttributes = {
      "inferplane.rag.stage": "generate",
      "gen_ai.request.model": a.route,
      "inferplane.rag.sources": sources.length,
      "inferplane.stream": req.stream === true,
    };
    if (req.stream) {
      // The span lasts until the stream ends, like the stage metric.
      const tracer = parent ? this.tracing.tracer : undefined;
      const gen = tracer?.startSpan(
        "rag.generate",
        { attributes: generateAttributes },
        contextWith(parent as Span),
      );
      let body: AsyncIterable<Buffer>;
      try {
        body = await chatCompletionStream(this.opts.gatewayUrl(), chat, this.headers, gen);
      } catch (err) {
        if (gen) {
          recordError(gen, err);
          gen.end();
        }
        throw err;
      }
      return {
        kind: "stream",
        sources,
        body: timed(body, (err) => {
          this.metrics.stage.observe({ stage: "generate" }, (performance.now() - t0) / 1000);
          if (gen) {
            if (err !== undefined) recordError(gen, err);
            gen.end();
          }
        }),
      };
    }
    const completion = await this.metrics.time("generate", () =>
      parent
        ? withSpan(
            this.tracing,
            "rag.generate",
            generateAttributes,
            (span) => chatCompletion(this.opts.gatewayUrl(), chat, this.headers, span),
            parent,
          )
        : chatCompletion(this.opts.gatewayUrl(), chat, this.headers),
    );
    const content = String(
      ((completion.choices as { message?: { content?: unknown } }[] | undefined)?.[0]?.message
        ?.content as string) ?? "",
    );
    const cited = citedIndexes(content, sources);
    return {
      kind: "json",
      body: {
        ...completion,
        sources,
        citations: cited.map((n) => {
          const s = sources[n - 1] as Source;
          return { index: n, docId: s.docId, chunkId: s.chunkId, source: s.source };
        }),
        found: true,
      },
    };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

async function* timed(body: AsyncIterable<Buffer>, done: (err?: unknown) => void): AsyncIterable<Buffer> {
  let failure: unknown;
  try {
    yield* body;
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    done(failure);
  }
}

async function* notFoundStream(body: {
  id: string;
  created: number;
  model: string;
  choices: { message: { content: string } }[];
}) {
  const chunk = {
    id: body.id,
    object: "chat.completion.chunk",
    created: body.created,
    model: body.model,
    choices: [
      {
        index: 0,
        delta: { role: "assistant", content: body.choices[0]?.message.content },
        finish_reason: "stop",
      },
    ],
  };
  yield Buffer.from(`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`);
}
