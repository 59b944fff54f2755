// The embedded store against the shared contract, plus what only a file store can show.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ingestDocuments } from "../../src/rag/ingest/pipeline.js";
import { SqliteStore } from "../../src/rag/stores/sqlite.js";
import { cranfieldDocs, storeContract } from "./contract.js";

const dir = mkdtempSync(join(tmpdir(), "rag-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("sqlite store: contract", () => {
  let store: SqliteStore | undefined;
  after(() => store?.close());
  storeContract({
    open: async () => {
      store ??= new SqliteStore(join(dir, "contract.db"));
      return store;
    },
    cranfieldNdcg: 0.349,
    onCranfield: (m) => console.log(`sqlite Cranfield BM25: ${JSON.stringify(m)}`),
  });
});

describe("sqlite store: contract, vectors scanned by sqlite-vec (collections too large for memory)", () => {
  let store: SqliteStore | undefined;
  after(() => store?.close());
  storeContract({
    open: async () => {
      store ??= new SqliteStore(join(dir, "contract-vec0.db"), { denseIndexMaxBytes: 0 });
      return store;
    },
  });
});

describe("sqlite store: ingestion", () => {
  it("re-ingesting unchanged documents writes nothing; a changed one replaces its chunks", async () => {
    const store = new SqliteStore(join(dir, "reingest.db"));
    try {
      await store.createCollection({ name: "c", embeddingRoute: "e", dimensions: 4, createdAt: 0 });
      const docs = cranfieldDocs().slice(0, 50);
      const chunking = { maxTokens: 64, overlapTokens: 8 };
      const first = await ingestDocuments(store, "c", docs, { chunking });
      assert.equal(first.added, 50);
      assert.ok(first.chunks > 50, "long abstracts split into several 64-token chunks");
      const ids = await store.chunkIds("c");
      assert.equal(ids.length, first.chunks);
      const again = await ingestDocuments(store, "c", docs, { chunking });
      assert.deepEqual([again.added, again.replaced, again.unchanged, again.chunks], [0, 0, 50, 0]);
      const changed = docs.map((d, i) => (i === 3 ? { ...d, text: "short zyxwvut text" } : d));
      const third = await ingestDocuments(store, "c", changed, { chunking });
      assert.deepEqual([third.replaced, third.unchanged, third.chunks], [1, 49, 1]);
      const after3 = await store.chunkIds("c");
      assert.equal(after3.filter((id) => id.startsWith(`${docs[3]?.id}#`)).length, 1);
      assert.equal(new Set(after3).size, after3.length, "no duplicate chunk ids");
      assert.deepEqual(
        (await store.searchSparse("c", "zyxwvut", 3)).map((h) => h.docId),
        [docs[3]?.id],
      );
    } finally {
      await store.close();
    }
  });

  it("refuses a vector of the wrong dimension and changes nothing", async () => {
    const store = new SqliteStore(join(dir, "dims.db"));
    try {
      await store.createCollection({ name: "c", embeddingRoute: "e", dimensions: 4, createdAt: 0 });
      const doc = { id: "d", text: "hello", source: "s", timestamp: 0 };
      await assert.rejects(
        store.upsertDocuments("c", [
          {
            doc,
            contentHash: "h",
            chunks: [
              {
                id: "d#0",
                docId: "d",
                ordinal: 0,
                text: "hello",
                tokens: 1,
                source: "s",
                timestamp: 0,
                vector: new Float32Array(3),
              },
            ],
          },
        ]),
        /3 dimensions, the collection 4/,
      );
      assert.deepEqual(await store.chunkIds("c"), []);
      await assert.rejects(store.searchDense("c", new Float32Array(5), 3), /5 dimensions/);
    } finally {
      await store.close();
    }
  });
});

describe("sqlite store: in-memory indexes", () => {
  it("the SIMD dense index ranks exactly as sqlite-vec's own scan, filters included", async () => {
    const { DenseIndex } = await import("../../src/rag/stores/dense-index.js");
    const store = new SqliteStore(join(dir, "dense.db"));
    try {
      const dim = 37; // not a multiple of 4: the index pads
      await store.createCollection({ name: "v", embeddingRoute: "e", dimensions: dim, createdAt: 0 });
      let seed = 7;
      const rnd = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31 - 0.5;
      };
      const writes = Array.from({ length: 300 }, (_, i) => {
        const doc = { id: `d${i}`, text: `t${i}`, source: `s${i % 3}`, timestamp: i };
        const vector = Float32Array.from({ length: dim }, rnd);
        return {
          doc,
          contentHash: `h${i}`,
          chunks: [
            {
              id: `d${i}#0`,
              docId: `d${i}`,
              ordinal: 0,
              text: `t${i}`,
              tokens: 1,
              source: doc.source,
              timestamp: i,
              vector,
            },
          ],
        };
      });
      await store.upsertDocuments("v", writes);
      const db = store.db;
      for (let trial = 0; trial < 5; trial++) {
        const q = Float32Array.from({ length: dim }, rnd);
        const fast = await store.searchDense(
          "v",
          q,
          10,
          trial % 2 ? { source: ["s1", "s2"], timestampFrom: 50 } : undefined,
        );
        const where = trial % 2 ? " AND source IN ('s1','s2') AND ts >= 50" : "";
        const exact = db
          .prepare(
            `SELECT c.chunk_id id, vec_distance_cosine(v.embedding, ?) d FROM vec_1 v JOIN chunks c ON c.rowid = v.rid WHERE 1${where.replace(/source/g, "v.source").replace(/ts >=/, "v.ts >=")} ORDER BY d LIMIT 10`,
          )
          .all(q) as { id: string; d: number }[];
        assert.deepEqual(
          fast.map((h) => h.chunkId),
          exact.map((e) => e.id),
        );
        for (const [i, h] of fast.entries()) assert.ok(Math.abs(h.score - (1 - (exact[i]?.d ?? 0))) < 1e-5);
      }
      assert.equal(
        DenseIndex.build([{ rid: 1, vector: new Float32Array(8), source: "", ts: 0 }], 8, 16),
        undefined,
        "over the memory cap: no index",
      );
    } finally {
      await store.close();
    }
  });

  it("a write by another connection (a CLI ingest beside the server) is seen by the cached indexes", async () => {
    const path = join(dir, "shared.db");
    const server = new SqliteStore(path);
    const cli = new SqliteStore(path);
    try {
      await server.createCollection({ name: "c", embeddingRoute: "e", dimensions: 4, createdAt: 0 });
      const doc = (id: string, text: string, v: number[]) => ({
        doc: { id, text, source: "s", timestamp: 0 },
        contentHash: text,
        chunks: [
          {
            id: `${id}#0`,
            docId: id,
            ordinal: 0,
            text,
            tokens: 1,
            source: "s",
            timestamp: 0,
            vector: Float32Array.from(v),
          },
        ],
      });
      await server.upsertDocuments("c", [doc("a", "alpha wing", [1, 0, 0, 0])]);
      assert.equal((await server.searchSparse("c", "wing", 5)).length, 1);
      assert.equal((await server.searchDense("c", Float32Array.from([0, 1, 0, 0]), 5)).length, 1);
      await cli.upsertDocuments("c", [doc("b", "beta wing", [0, 1, 0, 0])]);
      assert.deepEqual((await server.searchSparse("c", "wing", 5)).map((h) => h.docId).sort(), ["a", "b"]);
      assert.equal((await server.searchDense("c", Float32Array.from([0, 1, 0, 0]), 1))[0]?.docId, "b");
    } finally {
      await cli.close();
      await server.close();
    }
  });
});

it("a store path that cannot hold a database is rag_store_unavailable, naming the path", () => {
  const dir = mkdtempSync(join(tmpdir(), "rag-sqlite-bad-"));
  const file = join(dir, "not-a-directory");
  writeFileSync(file, "x");
  try {
    for (const path of [dir, join(file, "rag.db")]) {
      assert.throws(
        () => new SqliteStore(path),
        (e: Error & { code?: string }) => e.code === "rag_store_unavailable" && e.message.includes(path),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
