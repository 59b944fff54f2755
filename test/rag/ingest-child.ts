// Child process of kill.test.ts: ingests Cranfield into a sqlite file, printing progress per batch.
// The embedder stands in for an embedding server's latency (5 ms a batch) so the parent can kill mid-way.
import { setTimeout as sleep } from "node:timers/promises";
import { ingestDocuments } from "../../src/rag/ingest/pipeline.js";
import { SqliteStore } from "../../src/rag/stores/sqlite.js";
import { bagVector, cranfieldDocs } from "./contract.js";

const store = new SqliteStore(process.argv[2] as string);
if (!(await store.getCollection("cran"))) {
  await store.createCollection({ name: "cran", embeddingRoute: "embed", dimensions: 16, createdAt: 0 });
}
const report = await ingestDocuments(store, "cran", cranfieldDocs(), {
  chunking: { maxTokens: 128, overlapTokens: 16 },
  batchDocuments: 10,
  embedder: {
    async embed(texts) {
      await sleep(5);
      return texts.map((t) => bagVector(t, 16));
    },
  },
  onProgress: (p) => process.stdout.write(`${JSON.stringify(p)}\n`),
});
process.stdout.write(`${JSON.stringify({ done: report })}\n`);
await store.close();
