// The embedded store against the shared contract, plus what only a file store can show.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
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
