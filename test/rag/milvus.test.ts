// Milvus Lite 3.2 (one server for the whole file) against the shared store contract: BM25 through
// Milvus's BM25 function (on text our English analyzer prepared), HNSW/COSINE dense search,
// filters as Milvus expressions, Cranfield quality.
import { after, describe } from "node:test";
import { MilvusStore } from "../../src/rag/stores/milvus.js";
import { type MilvusService, startMilvusLite } from "../services/milvus.js";
import { bagVector, storeContract } from "./contract.js";

let svc: MilvusService | undefined;
let skip: string | false = false;
try {
  svc = await startMilvusLite();
} catch (err) {
  if (process.env.CI === "true") throw err;
  skip = `milvus-lite unavailable: ${(err as Error).message.slice(0, 200)} (set CI=true to fail instead)`;
}
after(() => svc?.stop());

let store: MilvusStore | undefined;
after(() => store?.close());

describe("milvus store: contract", () => {
  storeContract({
    open: async () => {
      store ??= new MilvusStore({ uri: (svc as MilvusService).uri });
      return store;
    },
    cranfieldNdcg: 0.349,
    // Milvus keeps vectors for every chunk: Cranfield gets hash vectors (BM25 is what is scored).
    vectors: (text) => bagVector(text, 16),
    skip,
    onCranfield: (m) => console.log(`milvus Cranfield BM25: ${JSON.stringify(m)}`),
  });
});
