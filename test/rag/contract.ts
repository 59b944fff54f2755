// The contract every RagStore passes (sqlite, OpenSearch, Milvus…): collections, atomic document
// replacement, content hashes, English BM25 (stemming, stop words), cosine kNN, metadata filters,
// and Cranfield BM25 quality. Each store's test file calls storeContract with a way to open it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { it as nodeIt } from "node:test";
import { readQrels, readQueries } from "../../src/rag/eval/beir.js";
import { evaluate } from "../../src/rag/eval/metrics.js";
import { parseBeirCorpus } from "../../src/rag/ingest/loaders.js";
import { contentHash, ingestDocuments } from "../../src/rag/ingest/pipeline.js";
import type { RagStore, SourceDocument } from "../../src/rag/types.js";

export const CRANFIELD = join(import.meta.dirname, "..", "fixtures", "cranfield");

export function cranfieldDocs(): SourceDocument[] {
  return parseBeirCorpus(readFileSync(join(CRANFIELD, "corpus.jsonl"), "utf8"), "corpus.jsonl", 0);
}

/** A deterministic unit vector per text: words hashed into buckets (enough to test kNN plumbing). */
export function bagVector(text: string, dim = 16): Float32Array {
  const v = new Float32Array(dim);
  for (const w of text.toLowerCase().split(/\W+/).filter(Boolean)) {
    let h = 2166136261;
    for (const c of w) h = Math.imul(h ^ (c.codePointAt(0) ?? 0), 16777619);
    const i = (h >>> 0) % dim;
    v[i] = (v[i] ?? 0) + 1;
  }
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}

const DIM = 16;
const docs: SourceDocument[] = [
  {
    id: "wings",
    title: "Wings",
    text: "The wings of the aircraft were running hot in the slipstream.",
    source: "a.md",
    timestamp: 1_000,
  },
  { id: "engines", text: "Jet engines burn fuel; turbines spin quickly.", source: "b.md", timestamp: 2_000 },
  {
    id: "boundary",
    text: "Boundary layers separate at high angles of attack.",
    source: "b.md",
    timestamp: 3_000,
  },
];

function writes(list: SourceDocument[]) {
  return list.map((doc) => ({
    doc,
    contentHash: contentHash(doc),
    chunks: [
      {
        id: `${doc.id}#0`,
        docId: doc.id,
        ordinal: 0,
        text: doc.text,
        tokens: 10,
        source: doc.source,
        timestamp: doc.timestamp,
        ...(doc.title ? { title: doc.title } : {}),
        vector: bagVector(doc.text, DIM),
      },
    ],
  }));
}

export interface ContractOptions {
  open: () => Promise<RagStore>;
  /** Milvus and search engines refresh asynchronously: wait before searching. */
  settle?: () => Promise<void>;
  dense?: boolean;
  /** Minimum nDCG@10 of BM25 on Cranfield; undefined: the store runs no quality check. */
  cranfieldNdcg?: number;
  onCranfield?: (m: ReturnType<typeof evaluate>) => void;
  /** Stores that need a vector for every chunk get these during the Cranfield ingest. */
  vectors?: (text: string) => Float32Array;
  /** A reason to skip every test (the service could not start outside CI). */
  skip?: string | false;
}

export function storeContract(o: ContractOptions): void {
  const it = (name: string, fn: () => Promise<void>) => nodeIt(name, { skip: o.skip ?? false }, fn);
  const settle = o.settle ?? (async () => {});
  const name = `contract-${Math.random().toString(36).slice(2, 8)}`;

  it("creates, lists, refuses a duplicate and drops a collection", async () => {
    const store = await o.open();
    await store.createCollection({ name, embeddingRoute: "embed", dimensions: DIM, createdAt: 1 });
    await assert.rejects(
      store.createCollection({ name, embeddingRoute: "embed", dimensions: DIM, createdAt: 1 }),
      /already exists/,
    );
    const info = await store.getCollection(name);
    assert.equal(info?.dimensions, DIM);
    assert.equal(info?.embeddingRoute, "embed");
    assert.ok((await store.listCollections()).some((c) => c.name === name));
    assert.equal(await store.getCollection(`${name}-missing`), undefined);
    await assert.rejects(store.searchSparse(`${name}-missing`, "x", 3), /no collection/);
  });

  it("writes documents with their hashes, replaces and deletes them", async () => {
    const store = await o.open();
    await store.upsertDocuments(name, writes(docs));
    await settle();
    const hashes = await store.documentHashes(name, ["wings", "engines", "nope"]);
    assert.equal(hashes.get("wings"), contentHash(docs[0] as SourceDocument));
    assert.equal(hashes.has("nope"), false);
    assert.deepEqual(await store.chunkIds(name), ["boundary#0", "engines#0", "wings#0"]);
    // Replacing a document swaps its chunks, never duplicates them.
    const changed = { ...(docs[1] as SourceDocument), text: "Propellers turn in the slipstream." };
    await store.upsertDocuments(name, writes([changed]));
    await settle();
    assert.deepEqual(await store.chunkIds(name), ["boundary#0", "engines#0", "wings#0"]);
    assert.equal((await store.documentHashes(name, ["engines"])).get("engines"), contentHash(changed));
    const hits = await store.searchSparse(name, "propellers", 5);
    assert.deepEqual(
      hits.map((h) => h.docId),
      ["engines"],
    );
    assert.equal((await store.searchSparse(name, "turbines", 5)).length, 0);
    assert.equal(await store.deleteDocument(name, "boundary"), true);
    assert.equal(await store.deleteDocument(name, "boundary"), false);
    await settle();
    assert.deepEqual(await store.chunkIds(name), ["engines#0", "wings#0"]);
    await store.upsertDocuments(name, writes([docs[2] as SourceDocument]));
    await settle();
  });

  it("BM25 with English analysis: stems, drops stop words, ranks by BM25", async () => {
    const store = await o.open();
    const run = await store.searchSparse(name, "runs", 5);
    assert.deepEqual(
      run.map((h) => h.docId),
      ["wings"],
      "runs ~ running through the stemmer",
    );
    assert.ok((run[0]?.score ?? 0) > 0);
    assert.equal((await store.searchSparse(name, "the of in", 5)).length, 0, "stop words match nothing");
    const two = await store.searchSparse(name, "slipstream attack", 5);
    assert.deepEqual(new Set(two.map((h) => h.docId)), new Set(["wings", "engines", "boundary"]));
  });

  it("filters by source and timestamp range", async () => {
    const store = await o.open();
    const b = await store.searchSparse(name, "slipstream attack", 5, { source: "b.md" });
    assert.deepEqual(new Set(b.map((h) => h.docId)), new Set(["engines", "boundary"]));
    const late = await store.searchSparse(name, "slipstream attack", 5, { timestampFrom: 2_500 });
    assert.deepEqual(
      late.map((h) => h.docId),
      ["boundary"],
    );
    const early = await store.searchSparse(name, "slipstream attack", 5, {
      timestampTo: 1_500,
      source: ["a.md", "b.md"],
    });
    assert.deepEqual(
      early.map((h) => h.docId),
      ["wings"],
    );
  });

  // A store without dense vectors says so instead of running the dense checks.
  if (o.dense === false) {
    it("reports no dense vectors among its capabilities", async () => {
      assert.equal((await (await o.open()).capabilities()).dense, false);
    });
  }
  if (o.dense !== false)
    it("dense kNN by cosine similarity, with filters", async () => {
      const store = await o.open();
      const q = bagVector("Boundary layers separate at high angles of attack.", DIM);
      const hits = await store.searchDense(name, q, 3);
      assert.equal(hits[0]?.docId, "boundary");
      assert.ok(
        Math.abs((hits[0]?.score ?? 0) - 1) < 1e-3,
        `cosine of identical vectors is 1, got ${hits[0]?.score}`,
      );
      const filtered = await store.searchDense(name, q, 3, { source: "a.md" });
      assert.deepEqual(
        filtered.map((h) => h.docId),
        ["wings"],
      );
      const ranged = await store.searchDense(name, q, 3, { timestampTo: 2_000 });
      assert.ok(!ranged.some((h) => h.docId === "boundary"));
    });

  // Variants whose BM25 engine another suite already scores (composite, vec0 scan) leave it out.
  if (o.cranfieldNdcg !== undefined)
    it("BM25 on Cranfield reaches the Lucene baseline (nDCG@10 ≥ 0.349)", async () => {
      const store = await o.open();
      const c = `${name}-cranfield`;
      await store.createCollection({ name: c, embeddingRoute: "embed", dimensions: DIM, createdAt: 1 });
      const vectors = o.vectors;
      const report = await ingestDocuments(store, c, cranfieldDocs(), {
        chunking: { maxTokens: 512, overlapTokens: 64 },
        ...(vectors ? { embedder: { embed: async (texts: string[]) => texts.map(vectors) } } : {}),
      });
      assert.equal(report.documents, 1400);
      await settle();
      const run = new Map<string, string[]>();
      for (const q of readQueries(CRANFIELD))
        run.set(
          q.id,
          (await store.searchSparse(c, q.text, 100)).map((h) => h.docId),
        );
      const m = evaluate(run, readQrels(CRANFIELD));
      o.onCranfield?.(m);
      assert.equal(m.queries, 150);
      assert.ok(m.ndcg10 >= (o.cranfieldNdcg as number), `nDCG@10 ${m.ndcg10.toFixed(4)}`);
      await store.dropCollection(c);
    });

  it("drops the collection", async () => {
    const store = await o.open();
    assert.equal(await store.dropCollection(name), true);
    assert.equal(await store.dropCollection(name), false);
    assert.equal(await store.getCollection(name), undefined);
  });
}
