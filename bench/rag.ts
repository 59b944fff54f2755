/**
 * RAG on the embedded sqlite store:
 *  1. ingest of the Cranfield corpus (1,400 documents) — chunks per second excluding embedding time
 *     (1024-dimensional vectors, as bge-m3, made in-process so their cost is measured and subtracted);
 *  2. hybrid search (BM25 + cosine kNN, RRF k = 60, 50 candidates each) at 10,000 chunks — latency
 *     percentiles over the 150 Cranfield queries × 5 rounds, query embedding excluded; then the
 *     same queries alternating between the in-memory SIMD vector index and sqlite-vec's scan.
 *
 *   flock /tmp/bench.lock node --import tsx bench/rag.ts [--dim 1024] [--chunks 10000] [--json FILE]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Embedder } from "../src/rag/clients.js";
import { readQueries } from "../src/rag/eval/beir.js";
import { percentile } from "../src/rag/eval/metrics.js";
import { parseBeirCorpus } from "../src/rag/ingest/loaders.js";
import { ingestDocuments } from "../src/rag/ingest/pipeline.js";
import { search } from "../src/rag/retrieve/search.js";
import { SqliteStore } from "../src/rag/stores/sqlite.js";
import type { SourceDocument } from "../src/rag/types.js";

const { values } = parseArgs({
  options: {
    dim: { type: "string", default: "1024" },
    chunks: { type: "string", default: "10000" },
    rounds: { type: "string", default: "5" },
    json: { type: "string" },
  },
});
const dim = Number(values.dim);
const target = Number(values.chunks);
const cranfield = join(import.meta.dirname, "..", "test", "fixtures", "cranfield");

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
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ ingest, hybrid, sideBySide }, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
