/**
 * RAG benchmarks, in three parts (`--part store|model|fusion`, default all):
 *  store  — the embedded sqlite store alone: Cranfield ingest in chunks/s excluding embedding
 *           (hash vectors of `--dim` dimensions, made in-process so their cost is subtracted),
 *           hybrid search latency at `--chunks` chunks with query embedding excluded, and the
 *           in-memory SIMD index against sqlite-vec's scan on the same file;
 *  model  — with the real embedding model (bge-small-en-v1.5 int8, the embedded engine's model in
 *           this process, one ONNX thread): ingest texts/s embedding included, and a query (embed +
 *           hybrid search with the spec's default fusion) p50/p99 at `--chunks` chunks, the
 *           embedding share shown separately;
 *  fusion — the hybrid fusion sweep on Cranfield's 150 queries with the real vectors (RRF k, dense
 *           weight, candidates per retriever), a two-fold cross-validated estimate, and the
 *           chosen setting's paired-bootstrap interval against BM25 (docs/rag.md).
 * The real model's files are installed into .cache first (pinned, SHA-256 checked); Cranfield's
 * vectors are cached in .cache/cranfield-vectors (the same cache the tests use).
 *
 *   flock /tmp/bench.lock node --import tsx bench/rag.ts [--part model] [--chunks 10000] [--json FILE]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { artifactFor } from "../src/engines/embedded/artifacts.js";
import { ensureModelFiles } from "../src/engines/embedded/install.js";
import { loadEmbeddedModel } from "../src/engines/embedded/serve.js";
import type { Embedder } from "../src/rag/clients.js";
import { embeddedDefaultPlatform } from "../src/rag/defaults.js";
import { readQrels, readQueries } from "../src/rag/eval/beir.js";
import { pairedBootstrap } from "../src/rag/eval/bootstrap.js";
import {
  defaultGrid,
  type FusionSetting,
  type QueryLists,
  settingScores,
  sweep,
  twoFold,
} from "../src/rag/eval/fusion-sweep.js";
import { percentile } from "../src/rag/eval/metrics.js";
import { parseBeirCorpus } from "../src/rag/ingest/loaders.js";
import { ingestDocuments } from "../src/rag/ingest/pipeline.js";
import { CachingEmbedder, ModelEmbedder } from "../src/rag/model-embedder.js";
import { type SearchRequest, search } from "../src/rag/retrieve/search.js";
import { SqliteStore } from "../src/rag/stores/sqlite.js";
import type { SourceDocument } from "../src/rag/types.js";

const { values } = parseArgs({
  options: {
    part: { type: "string", default: "all" },
    dim: { type: "string", default: "1024" },
    chunks: { type: "string", default: "10000" },
    rounds: { type: "string", default: "5" },
    "ingest-docs": { type: "string", default: "300" },
    json: { type: "string" },
  },
});
const part = values.part;
const dim = Number(values.dim);
const target = Number(values.chunks);
const root = join(import.meta.dirname, "..");
const cranfield = join(root, "test", "fixtures", "cranfield");
const CACHE = join(root, ".cache");
const MODEL = "bge-small-en-v1.5";
const report: Record<string, unknown> = {};

const pct = (xs: number[]) => ({
  p50: +percentile(xs, 50).toFixed(2),
  p90: +percentile(xs, 90).toFixed(2),
  p99: +percentile(xs, 99).toFixed(2),
});

/** Hash embeddings (as the simulator's): deterministic unit vectors, cheap to make. */
function hashVector(text: string): Float32Array {
  const v = new Float32Array(dim);
  for (const w of text.toLowerCase().split(/\W+/)) {
    if (!w) continue;
    let h = 2166136261;
    for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619);
    const i = (h >>> 0) % dim;
    v[i] = (v[i] ?? 0) + ((h & 1) === 0 ? 1 : -1);
  }
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < dim; i++) v[i] = (v[i] ?? 0) / n;
  return v;
}
const embedder: Embedder = { embed: async (texts) => texts.map(hashVector) };

const docs = parseBeirCorpus(
  readFileSync(join(cranfield, "corpus.jsonl"), "utf8"),
  "corpus.jsonl",
  Date.now(),
);
async function storeBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-rag-"));
  try {
    // 1. ingest
    const store = new SqliteStore(join(dir, "ingest.db"));
    await store.createCollection({ name: "cran", embeddingRoute: "hash", dimensions: dim, createdAt: 0 });
    const ing = await ingestDocuments(store, "cran", docs, {
      chunking: { maxTokens: 512, overlapTokens: 64 },
      embedder,
    });
    const excl = ing.totalMs - ing.embedMs;
    const ingest = {
      documents: ing.documents,
      chunks: ing.chunks,
      totalMs: +ing.totalMs.toFixed(1),
      embedMs: +ing.embedMs.toFixed(1),
      chunkMs: +ing.chunkMs.toFixed(1),
      storeMs: +ing.storeMs.toFixed(1),
      chunksPerSecondExcludingEmbedding: Math.round(ing.chunks / (excl / 1000)),
    };
    console.log("ingest", ingest);
    await store.close();

    // 2. hybrid search at `target` chunks: Cranfield repeated under new ids, one chunk per document
    const big = new SqliteStore(join(dir, "search.db"));
    await big.createCollection({ name: "big", embeddingRoute: "hash", dimensions: dim, createdAt: 0 });
    const many: SourceDocument[] = [];
    for (let r = 0; many.length < target + 20; r++) {
      for (const d of docs) {
        if (many.length >= target + 20) break;
        many.push({ ...d, id: `${d.id}-r${r}`, source: `round-${r}` });
      }
    }
    const built = await ingestDocuments(big, "big", many, {
      chunking: { maxTokens: 2048, overlapTokens: 0 },
      embedder,
    });
    const queries = readQueries(cranfield);
    const qv = new Map(queries.map((q) => [q.id, hashVector(q.text)]));
    const deps = {
      store: big,
      embedder: { embed: async (t: string[]) => t.map((x) => qv.get(x) ?? hashVector(x)) },
    };
    // Queries are embedded up front; `search` then sees a free embedder, so what is timed is the store.
    const byText = new Map(queries.map((q) => [q.text, qv.get(q.id) as Float32Array]));
    deps.embedder = { embed: async (t: string[]) => t.map((x) => byText.get(x) ?? hashVector(x)) };
    for (const q of queries.slice(0, 20))
      await search(deps, "big", { query: q.text, k: 10, mode: "hybrid", candidates: 50 });
    const lat: number[] = [];
    const sparseLat: number[] = [];
    const denseLat: number[] = [];
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const q of queries) {
        const t0 = performance.now();
        await search(deps, "big", { query: q.text, k: 10, mode: "hybrid", candidates: 50 });
        lat.push(performance.now() - t0);
        const t1 = performance.now();
        await big.searchSparse("big", q.text, 50);
        sparseLat.push(performance.now() - t1);
        const t2 = performance.now();
        await big.searchDense("big", qv.get(q.id) as Float32Array, 50);
        denseLat.push(performance.now() - t2);
      }
    }
    const pct = (xs: number[]) => ({
      p50: +percentile(xs, 50).toFixed(2),
      p90: +percentile(xs, 90).toFixed(2),
      p99: +percentile(xs, 99).toFixed(2),
    });
    const hybrid = {
      chunks: built.chunks,
      dim,
      queries: lat.length,
      hybridMs: pct(lat),
      sparseMs: pct(sparseLat),
      denseMs: pct(denseLat),
    };
    console.log("hybrid search", hybrid);
    await big.close();

    // Side by side on the same file: the same queries with vectors scanned by sqlite-vec (vec0),
    // as collections too large for the in-memory SIMD index are.
    const scan = new SqliteStore(join(dir, "search.db"), { denseIndexMaxBytes: 0 });
    const scanDeps = { store: scan, embedder: deps.embedder };
    for (const q of queries.slice(0, 5))
      await search(scanDeps, "big", { query: q.text, k: 10, mode: "hybrid", candidates: 50 });
    const scanLat: number[] = [];
    const simdLat: number[] = [];
    const again = new SqliteStore(join(dir, "search.db"));
    const simdDeps = { store: again, embedder: deps.embedder };
    for (const q of queries.slice(0, 5))
      await search(simdDeps, "big", { query: q.text, k: 10, mode: "hybrid", candidates: 50 });
    for (const q of queries) {
      let t0 = performance.now();
      await search(scanDeps, "big", { query: q.text, k: 10, mode: "hybrid", candidates: 50 });
      scanLat.push(performance.now() - t0);
      t0 = performance.now();
      await search(simdDeps, "big", { query: q.text, k: 10, mode: "hybrid", candidates: 50 });
      simdLat.push(performance.now() - t0);
    }
    const sideBySide = {
      queries: queries.length,
      simdIndexMs: pct(simdLat),
      sqliteVecScanMs: pct(scanLat),
      p50Ratio: +(percentile(scanLat, 50) / percentile(simdLat, 50)).toFixed(1),
    };
    console.log("hybrid, SIMD index vs sqlite-vec scan (alternating, same file)", sideBySide);
    await scan.close();
    await again.close();
    report.store = { ingest, hybrid, sideBySide };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const retrieval = embeddedDefaultPlatform().rag?.retrieval;
if (!retrieval) throw new Error("the default platform has no rag section");
const defaultFusion: SearchRequest["fusion"] =
  retrieval.fusion === "rrf"
    ? { method: "rrf", k: retrieval.rrfK }
    : { method: "weighted", dense: retrieval.denseWeight, sparse: 1 - retrieval.denseWeight };

async function realModel() {
  const artifact = artifactFor(MODEL);
  if (!artifact) throw new Error(`no artefact for ${MODEL}`);
  await ensureModelFiles(CACHE, artifact, { progress: (m) => console.error(m) });
  const model = await loadEmbeddedModel(MODEL, CACHE);
  const cached = new CachingEmbedder(
    new ModelEmbedder(model),
    join(CACHE, "cranfield-vectors", `${MODEL}-${artifact.onnx.sha256.slice(0, 12)}.jsonl`),
    artifact.onnx.sha256,
  );
  return { model, live: new ModelEmbedder(model), cached };
}

/** Cranfield ingested with the real vectors (from the cache after the first run). */
async function cranfieldStore(dir: string, cached: Embedder) {
  const store = new SqliteStore(join(dir, "cran.db"));
  await store.createCollection({ name: "cran", embeddingRoute: MODEL, dimensions: 384, createdAt: 0 });
  await ingestDocuments(store, "cran", docs, {
    chunking: { maxTokens: 512, overlapTokens: 64 },
    embedder: cached,
  });
  return store;
}

async function modelBench(): Promise<void> {
  const { model, live, cached } = await realModel();
  const dir = mkdtempSync(join(tmpdir(), "bench-rag-model-"));
  try {
    // 1. ingest, embedding included: the live model on the first N documents.
    const some = docs.slice(0, Number(values["ingest-docs"]));
    const store = new SqliteStore(join(dir, "ingest.db"));
    await store.createCollection({ name: "c", embeddingRoute: MODEL, dimensions: 384, createdAt: 0 });
    const ing = await ingestDocuments(store, "c", some, {
      chunking: { maxTokens: 512, overlapTokens: 64 },
      embedder: live,
    });
    await store.close();
    const ingest = {
      documents: ing.documents,
      chunks: ing.chunks,
      totalMs: +ing.totalMs.toFixed(1),
      embedMs: +ing.embedMs.toFixed(1),
      textsPerSecond: +(ing.chunks / (ing.totalMs / 1000)).toFixed(1),
      embeddingShare: +(ing.embedMs / ing.totalMs).toFixed(3),
    };
    console.log("ingest with the real model", ingest);

    // 2. queries at `target` chunks: Cranfield repeated under new ids, its real (cached) vectors.
    const big = new SqliteStore(join(dir, "search.db"));
    await big.createCollection({ name: "big", embeddingRoute: MODEL, dimensions: 384, createdAt: 0 });
    const many: SourceDocument[] = [];
    for (let r = 0; many.length < target; r++) {
      for (const d of docs) {
        if (many.length >= target) break;
        many.push({ ...d, id: `${d.id}-r${r}`, source: `round-${r}` });
      }
    }
    const built = await ingestDocuments(big, "big", many, {
      chunking: { maxTokens: 512, overlapTokens: 64 },
      embedder: cached,
    });
    const queries = readQueries(cranfield);
    const req = (query: string): SearchRequest => ({
      query,
      k: 10,
      mode: "hybrid",
      candidates: retrieval?.candidates ?? 50,
      ...(defaultFusion ? { fusion: defaultFusion } : {}),
    });
    for (const q of queries.slice(0, 10)) await search({ store: big, embedder: live }, "big", req(q.text));
    const total: number[] = [];
    const embed: number[] = [];
    const searchOnly: number[] = [];
    for (let round = 0; round < Math.max(1, Number(values.rounds) - 3); round++) {
      for (const q of queries) {
        const t0 = performance.now();
        const { timings } = await search({ store: big, embedder: live }, "big", req(q.text));
        total.push(performance.now() - t0);
        embed.push(timings.embedMs);
        searchOnly.push(timings.searchMs);
      }
    }
    await big.close();
    const query = {
      chunks: built.chunks,
      queries: total.length,
      fusion: defaultFusion,
      candidates: retrieval?.candidates,
      totalMs: pct(total),
      embedMs: pct(embed),
      searchMs: pct(searchOnly),
      embeddingShareOfP50: +(percentile(embed, 50) / percentile(total, 50)).toFixed(3),
    };
    console.log("query (embed + hybrid search) with the real model", query);
    report.model = { ingest, query };
  } finally {
    await model.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function fusionBench(): Promise<void> {
  const { model, cached } = await realModel();
  const dir = mkdtempSync(join(tmpdir(), "bench-rag-fusion-"));
  try {
    const store = await cranfieldStore(dir, cached);
    const qrels = readQrels(cranfield);
    const byQuery = new Map<string, QueryLists>();
    for (const q of readQueries(cranfield)) {
      const sparse = (
        await search({ store, embedder: cached }, "cran", { query: q.text, k: 200, mode: "sparse" })
      ).hits;
      const dense = (
        await search({ store, embedder: cached }, "cran", { query: q.text, k: 200, mode: "dense" })
      ).hits;
      byQuery.set(q.id, { sparse, dense });
    }
    await store.close();
    const only = (which: "sparse" | "dense"): FusionSetting => ({
      method: "weighted",
      dense: which === "dense" ? 1 : 0,
      candidates: 200,
    });
    const ids = new Set(byQuery.keys());
    const mean = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0) / m.size;
    const bm25 = settingScores(byQuery, qrels, only("sparse"), ids);
    const dense = settingScores(byQuery, qrels, only("dense"), ids);
    const grid = defaultGrid();
    const rows = sweep(byQuery, qrels, grid);
    const label = (s: FusionSetting) =>
      s.method === "rrf" ? `rrf k=${s.k} c=${s.candidates}` : `weighted dense=${s.dense} c=${s.candidates}`;
    const bestOf = (pred: (s: FusionSetting) => boolean) => rows.find((r) => pred(r.setting));
    console.log("BM25", mean(bm25).toFixed(4), "dense", mean(dense).toFixed(4));
    console.log("top settings:");
    for (const r of rows.slice(0, 12)) console.log(`  ${label(r.setting)}: ${r.ndcg10.toFixed(4)}`);
    const byCandidates: Record<string, { rrf: string; weighted: string }> = {};
    for (const c of [10, 20, 50, 100, 200]) {
      const r = bestOf((s) => s.method === "rrf" && s.candidates === c);
      const w = bestOf((s) => s.method === "weighted" && s.candidates === c);
      byCandidates[c] = {
        rrf: r ? `${label(r.setting)}: ${r.ndcg10.toFixed(4)}` : "-",
        weighted: w ? `${label(w.setting)}: ${w.ndcg10.toFixed(4)}` : "-",
      };
    }
    console.log("best per candidates:", byCandidates);
    const rrf60 = sweep(byQuery, qrels, [{ method: "rrf", k: 60, candidates: 50 }])[0];
    const cv = twoFold(byQuery, qrels, grid);
    console.log("rrf k=60 c=50 (the old default):", rrf60?.ndcg10.toFixed(4));
    console.log("two-fold cross-validated nDCG@10:", cv.ndcg10.toFixed(4), cv.chosen.map(label));
    const chosen: FusionSetting =
      defaultFusion?.method === "rrf"
        ? { method: "rrf", k: defaultFusion.k ?? 60, candidates: retrieval?.candidates ?? 50 }
        : { method: "weighted", dense: defaultFusion?.dense ?? 0.5, candidates: retrieval?.candidates ?? 50 };
    const mine = settingScores(byQuery, qrels, chosen, ids);
    const order = [...bm25.keys()];
    const ci = pairedBootstrap(
      order.map((q) => mine.get(q) ?? 0),
      order.map((q) => bm25.get(q) ?? 0),
    );
    const denseCi = pairedBootstrap(
      order.map((q) => dense.get(q) ?? 0),
      order.map((q) => bm25.get(q) ?? 0),
    );
    console.log(
      `the spec default (${label(chosen)}): ${mean(mine).toFixed(4)}, vs BM25`,
      ci,
      "dense vs BM25",
      denseCi,
    );
    report.fusion = {
      bm25: mean(bm25),
      dense: mean(dense),
      top: rows.slice(0, 12).map((r) => ({ setting: r.setting, ndcg10: r.ndcg10 })),
      byCandidates,
      rrf60c50: rrf60?.ndcg10,
      twoFold: cv,
      default: { setting: chosen, ndcg10: mean(mine), vsBm25: ci },
      denseVsBm25: denseCi,
    };
  } finally {
    await model.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (part === "all" || part === "store") await storeBench();
if (part === "all" || part === "model") await modelBench();
if (part === "all" || part === "fusion") await fusionBench();
if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
