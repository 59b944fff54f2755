// Elasticsearch 8.19 (integ-test-zip, one server for the file) against the shared store contract.
// This distribution has no analysis-common module (no stemmer or stop filters): the store detects
// that and indexes terms from our English analyzer; BM25 and dense_vector kNN are the server's.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { SearchEngineStore } from "../../src/rag/stores/search-engine.js";
import { type ElasticsearchService, startElasticsearch } from "../services/elasticsearch.js";
import { storeContract } from "./contract.js";

let svc: ElasticsearchService | undefined;
let skip: string | false = false;
try {
  svc = await startElasticsearch();
} catch (err) {
  if (process.env.CI === "true") throw err;
  skip = `elasticsearch unavailable: ${(err as Error).message.slice(0, 200)} (set CI=true to fail instead)`;
}
after(() => svc?.stop());

let store: SearchEngineStore | undefined;
const open = async () => {
  store ??= await SearchEngineStore.connect({
    flavour: "elasticsearch",
    url: (svc as ElasticsearchService).url,
  });
  return store;
};

describe("elasticsearch store: contract", () => {
  it("detects the missing English analysis and dense support", { skip }, async () => {
    const s = await open();
    assert.equal(s.clientAnalysis, true);
    assert.deepEqual(await s.capabilities(), { sparse: true, dense: true });
  });
  storeContract({
    open,
    cranfieldNdcg: 0.349,
    skip,
    onCranfield: (m) => console.log(`elasticsearch Cranfield BM25: ${JSON.stringify(m)}`),
  });
});
