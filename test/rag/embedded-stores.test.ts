// Must-show: with the real Cranfield vectors (bge-small-en-v1.5 int8, cached once in .cache by
// cranfield-real.ts), every store that holds vectors gives the same hybrid nDCG@10 as sqlite
// within 0.005, with the spec's default fusion. OpenSearch is left out: the runner the harness
// starts ships no k-NN plugin, so it has no vectors (docs/rag.md).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { embeddedDefaultPlatform } from "../../src/rag/defaults.js";
import { evaluate } from "../../src/rag/eval/metrics.js";
import type { CachingEmbedder } from "../../src/rag/model-embedder.js";
import type { SearchRequest } from "../../src/rag/retrieve/search.js";
import { MilvusStore } from "../../src/rag/stores/milvus.js";
import { SearchEngineStore } from "../../src/rag/stores/search-engine.js";
import { SqliteStore } from "../../src/rag/stores/sqlite.js";
import type { RagStore } from "../../src/rag/types.js";
import { type ElasticsearchService, startElasticsearch } from "../services/elasticsearch.js";
import { type MilvusService, startMilvusLite } from "../services/milvus.js";
import { cranfieldEmbedder, cranfieldRun, ingestCranfield, qrels } from "./cranfield-real.js";

const retrieval = embeddedDefaultPlatform().rag?.retrieval;
if (!retrieval) throw new Error("the default platform has no rag section");
const hybrid: Omit<SearchRequest, "query"> = {
  k: 100,
  mode: "hybrid",
  candidates: retrieval.candidates,
  fusion:
    retrieval.fusion === "rrf"
      ? { method: "rrf", k: retrieval.rrfK }
      : { method: "weighted", dense: retrieval.denseWeight, sparse: 1 - retrieval.denseWeight },
};

async function started<T>(name: string, start: () => Promise<T>): Promise<{ svc?: T; skip: string | false }> {
  try {
    return { svc: await start(), skip: false };
  } catch (err) {
    if (process.env.CI === "true") throw err;
    return {
      skip: `${name} unavailable: ${(err as Error).message.slice(0, 200)} (set CI=true to fail instead)`,
    };
  }
}

const dir = mkdtempSync(join(tmpdir(), "embedded-stores-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const milvus = await started<MilvusService>("milvus-lite", startMilvusLite);
const es = await started<ElasticsearchService>("elasticsearch", startElasticsearch);
after(async () => {
  await milvus.svc?.stop();
  await es.svc?.stop();
});

let embedder: CachingEmbedder;
let reference: number;
before(async () => {
  embedder = await cranfieldEmbedder();
  const sqlite = new SqliteStore(join(dir, "rag.db"));
  try {
    reference = await hybridNdcg(sqlite);
  } finally {
    await sqlite.close();
  }
  console.log(`sqlite hybrid nDCG@10 with real vectors: ${reference.toFixed(4)}`);
});

async function hybridNdcg(store: RagStore): Promise<number> {
  await ingestCranfield(store, "cran_embedded", embedder);
  return evaluate(await cranfieldRun(store, "cran_embedded", embedder, hybrid), qrels()).ndcg10;
}

describe("every store with vectors gives sqlite's hybrid nDCG@10 (± 0.005) with the real vectors", () => {
  it("Milvus Lite", { skip: milvus.skip }, async () => {
    const store = new MilvusStore({ uri: (milvus.svc as MilvusService).uri });
    try {
      const got = await hybridNdcg(store);
      console.log(`milvus hybrid nDCG@10 with real vectors: ${got.toFixed(4)}`);
      assert.ok(Math.abs(got - reference) <= 0.005, `milvus ${got} vs sqlite ${reference}`);
    } finally {
      await store.close();
    }
  });

  it("Elasticsearch", { skip: es.skip }, async () => {
    const store = await SearchEngineStore.connect({
      flavour: "elasticsearch",
      url: (es.svc as ElasticsearchService).url,
    });
    try {
      const got = await hybridNdcg(store);
      console.log(`elasticsearch hybrid nDCG@10 with real vectors: ${got.toFixed(4)}`);
      assert.ok(Math.abs(got - reference) <= 0.005, `elasticsearch ${got} vs sqlite ${reference}`);
    } finally {
      await store.close();
    }
  });
});
