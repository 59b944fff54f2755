/**
 * Retrieval: sparse (BM25), dense (cosine kNN on the query's embedding) or hybrid (both,
 * fused by RRF or weights), then an optional cross-encoder rerank of the fused candidates.
 */
import { InferplaneError } from "../../errors.js";
import { type Span, TRACING_OFF, type Tracing, withSpan } from "../../telemetry/tracing.js";
import type { Embedder, Reranker } from "../clients.js";
import type { RagMetrics } from "../metrics.js";
import type { Hit, RagStore, SearchFilter } from "../types.js";
import { rrf, weighted } from "./fusion.js";

export type SearchMode = "dense" | "sparse" | "hybrid";

export interface SearchRequest {
  query: string;
  k: number;
  mode: SearchMode;
  filter?: SearchFilter;
  /** Candidates per retriever before fusion (and rerank). */
  candidates?: number;
  fusion?: { method: "rrf"; k?: number } | { method: "weighted"; dense: number; sparse: number };
  /** Rerank the fused candidates and keep the best `topN` (defaults to k). */
  rerank?: { topN?: number };
}

export interface SearchDeps {
  store: RagStore;
  embedder?: Embedder;
  reranker?: Reranker;
  metrics?: RagMetrics;
  /** Stage spans (`rag.embed`, `rag.retrieve` with `.sparse`/`.dense`, `rag.rerank`) under `parent`. */
  tracing?: Tracing;
  parent?: Span;
}

/** Span name of each stage; `inferplane.rag.stage` carries the metric's stage label. */
const STAGE_SPAN = { embed: "rag.embed", search: "rag.retrieve", rerank: "rag.rerank" } as const;

export interface SearchTimings {
  embedMs: number;
  searchMs: number;
  rerankMs: number;
}

export async function search(
  deps: SearchDeps,
  collection: string,
  req: SearchRequest,
): Promise<{ hits: Hit[]; timings: SearchTimings }> {
  const timings: SearchTimings = { embedMs: 0, searchMs: 0, rerankMs: 0 };
  const candidates = Math.max(req.k, req.candidates ?? req.k);
  const tracing = deps.tracing ?? TRACING_OFF;
  const stage = async <T>(
    name: "embed" | "search" | "rerank",
    attributes: Record<string, string | number>,
    fn: (span: Span | undefined) => Promise<T>,
  ): Promise<T> => {
    const t0 = performance.now();
    try {
      return await withSpan(
        tracing,
        STAGE_SPAN[name],
        { "inferplane.rag.stage": name, ...attributes },
        fn,
        deps.parent,
      );
    } finally {
      const ms = performance.now() - t0;
      timings[`${name}Ms`] += ms;
      deps.metrics?.stage.observe({ stage: name }, ms / 1000);
    }
  };
  const storeCall = async <T>(
    op: "search_sparse" | "search_dense",
    parent: Span | undefined,
    fn: () => Promise<T>,
  ): Promise<T> => {
    try {
      return parent
        ? await withSpan(
            tracing,
            op === "search_sparse" ? "rag.retrieve.sparse" : "rag.retrieve.dense",
            { "inferplane.rag.store": deps.store.kind, "inferplane.rag.candidates": candidates },
            fn,
            parent,
          )
        : await fn();
    } catch (err) {
      if (!(err instanceof InferplaneError) || err.code === "rag_store_unavailable") {
        deps.metrics?.storeErrors.inc({ store: deps.store.kind, op });
      }
      throw err;
    }
  };

  let vector: Float32Array | undefined;
  if (req.mode !== "sparse") {
    const embedder = deps.embedder;
    if (!embedder)
      throw new InferplaneError("invalid_request", `mode "${req.mode}" needs an embedding model`);
    [vector] = await stage("embed", {}, (span) => embedder.embed([req.query], span, "query"));
  }
  const lists = await stage("search", { "inferplane.rag.mode": req.mode }, (span) =>
    Promise.all([
      req.mode === "dense"
        ? Promise.resolve([] as Hit[])
        : storeCall("search_sparse", span, () =>
            deps.store.searchSparse(collection, req.query, candidates, req.filter),
          ),
      req.mode === "sparse" || !vector
        ? Promise.resolve([] as Hit[])
        : storeCall("search_dense", span, () =>
            deps.store.searchDense(collection, vector as Float32Array, candidates, req.filter),
          ),
    ]),
  );
  const [sparse, dense] = lists;
  let hits: Hit[];
  if (req.mode === "sparse") hits = sparse;
  else if (req.mode === "dense") hits = dense;
  else if (req.fusion?.method === "weighted")
    hits = weighted([dense, sparse], [req.fusion.dense, req.fusion.sparse]);
  else hits = rrf([dense, sparse], req.fusion?.method === "rrf" ? (req.fusion.k ?? 60) : 60);

  if (req.rerank) {
    const reranker = deps.reranker;
    if (!reranker) {
      // No cross-encoder ships with Inferplane: rerank exists only through a configured route.
      throw new InferplaneError(
        "invalid_request",
        "rerank: no rerank route is configured (rag.rerank.route names a rerank model served by an engine such as vLLM, TEI or Infinity); results were not reranked",
        { param: "rerank" },
      );
    }
    const pool = hits.slice(0, candidates);
    const topN = Math.min(req.rerank.topN ?? req.k, req.k);
    const ranked = await stage(
      "rerank",
      { "inferplane.rag.candidates": pool.length, "inferplane.rag.top_n": topN },
      (span) =>
        reranker.rerank(
          req.query,
          pool.map((h) => (h.title ? `${h.title}\n${h.text}` : h.text)),
          topN,
          span,
        ),
    );
    hits = ranked.flatMap((r) => {
      const h = pool[r.index];
      return h ? [{ ...h, score: r.score }] : [];
    });
  }
  return { hits: hits.slice(0, req.k), timings };
}
