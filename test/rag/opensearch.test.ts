// OpenSearch 2.19 (one JVM for the whole file) against the shared store contract: BM25 with the
// built-in `english` analyzer, filters, atomic-enough replacement, Cranfield quality. The runner
// ships no k-NN plugin, so dense search is skipped here (the store reports dense: false).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CompositeStore } from "../../src/rag/stores/composite.js";
import { SearchEngineStore } from "../../src/rag/stores/search-engine.js";
import { SqliteStore } from "../../src/rag/stores/sqlite.js";
import { type OpenSearchService, startOpenSearch } from "../services/opensearch.js";
import { storeContract } from "./contract.js";

let svc: OpenSearchService | undefined;
let skip: string | false = false;
try {
  svc = await startOpenSearch();
} catch (err) {
  if (process.env.CI === "true") throw err;
  skip = `opensearch unavailable: ${(err as Error).message.slice(0, 200)} (set CI=true to fail instead)`;
}
after(() => svc?.stop());

let store: SearchEngineStore | undefined;
const open = async () => {
  store ??= await SearchEngineStore.connect({ flavour: "opensearch", url: (svc as OpenSearchService).url });
  return store;
};

describe("opensearch store: contract", () => {
  storeContract({
    open,
    dense: false,
    cranfieldNdcg: 0.349,
    skip,
    onCranfield: (m) => console.log(`opensearch Cranfield BM25: ${JSON.stringify(m)}`),
  });
  it("reports no dense search without the k-NN plugin", { skip }, async () => {
    assert.deepEqual(await (await open()).capabilities(), { sparse: true, dense: false });
  });
});

// The guide's split: vectors in one store, BM25 in another (here sqlite-vec + OpenSearch).
describe("composite store (sqlite vectors + OpenSearch BM25): contract", () => {
  const dir = mkdtempSync(join(tmpdir(), "rag-composite-"));
  let composite: CompositeStore | undefined;
  after(async () => {
    await composite?.vector.close();
    rmSync(dir, { recursive: true, force: true });
  });
  storeContract({
    open: async () => {
      composite ??= new CompositeStore(new SqliteStore(join(dir, "vectors.db")), await open());
      return composite;
    },
    skip,
  });
});
