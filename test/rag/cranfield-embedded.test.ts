// Must-show: Cranfield's 150 queries with the real embedding model (bge-small-en-v1.5 int8 served
// by the embedded engine's model) on the sqlite store, with the spec's default fusion: BM25 ≥ 0.349,
// dense ≥ 0.38, hybrid ≥ 0.41 nDCG@10; a second run, its query vectors recomputed by a freshly
// loaded model, ranks every query identically.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadEmbeddedModel } from "../../src/engines/embedded/serve.js";
import { embeddedDefaultPlatform } from "../../src/rag/defaults.js";
import { pairedBootstrap } from "../../src/rag/eval/bootstrap.js";
import { evaluate, perQuery, type Run } from "../../src/rag/eval/metrics.js";
import type { CachingEmbedder } from "../../src/rag/model-embedder.js";
import { ModelEmbedder } from "../../src/rag/model-embedder.js";
import type { SearchRequest } from "../../src/rag/retrieve/search.js";
import { SqliteStore } from "../../src/rag/stores/sqlite.js";
import { cranfieldDocs } from "./contract.js";
import { cranfieldEmbedder, cranfieldRun, ingestCranfield, qrels } from "./cranfield-real.js";
import { CACHE_DIR, MODEL_ID } from "./embedded-model.js";

const dir = mkdtempSync(join(tmpdir(), "cranfield-embedded-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const store = new SqliteStore(join(dir, "rag.db"));
after(() => store.close());
let embedder: CachingEmbedder;

const retrieval = embeddedDefaultPlatform().rag?.retrieval;
if (!retrieval) throw new Error("the default platform has no rag section");
/** The spec's defaults, 100 deep (Recall@100). */
const hybrid: Omit<SearchRequest, "query"> = {
  k: 100,
  mode: "hybrid",
  candidates: retrieval.candidates,
  fusion:
    retrieval.fusion === "rrf"
      ? { method: "rrf", k: retrieval.rrfK }
      : { method: "weighted", dense: retrieval.denseWeight, sparse: 1 - retrieval.denseWeight },
};

before(async () => {
  embedder = await cranfieldEmbedder();
  await ingestCranfield(store, "cran", embedder);
});

describe("Cranfield with the embedded model (sqlite)", () => {
  let runs: Record<"sparse" | "dense" | "hybrid", Run>;

  it("BM25 ≥ 0.349, dense ≥ 0.38 and hybrid ≥ 0.41 nDCG@10, hybrid above BM25 beyond noise", async () => {
    runs = {
      sparse: await cranfieldRun(store, "cran", embedder, { k: 100, mode: "sparse" }),
      dense: await cranfieldRun(store, "cran", embedder, { k: 100, mode: "dense" }),
      hybrid: await cranfieldRun(store, "cran", embedder, hybrid),
    };
    const q = qrels();
    const m = Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, evaluate(r, q)]));
    const ids = [...perQuery(runs.sparse, q).keys()];
    const nd = (r: Run) => {
      const per = perQuery(r, q);
      return ids.map((id) => per.get(id)?.ndcg10 ?? 0);
    };
    const ci = pairedBootstrap(nd(runs.hybrid), nd(runs.sparse));
    console.log(
      `Cranfield ${MODEL_ID}: ${JSON.stringify({ ...m, hybridSetting: hybrid, hybridVsBm25: ci })}`,
    );
    assert.equal(m.sparse?.queries, 150);
    assert.ok((m.sparse?.ndcg10 ?? 0) >= 0.349, `BM25 ${m.sparse?.ndcg10}`);
    assert.ok((m.dense?.ndcg10 ?? 0) >= 0.38, `dense ${m.dense?.ndcg10}`);
    assert.ok((m.hybrid?.ndcg10 ?? 0) >= 0.41, `hybrid ${m.hybrid?.ndcg10}`);
    assert.ok(ci.ci95[0] > 0, `hybrid vs BM25: ${JSON.stringify(ci)}`);
  });

  it("ranks every query the same on a second run with a freshly loaded model", async () => {
    assert.ok(runs, "needs the first run");
    const fresh = await loadEmbeddedModel(MODEL_ID, CACHE_DIR);
    try {
      const live = new ModelEmbedder(fresh);
      const again = await cranfieldRun(store, "cran", live, hybrid);
      assert.deepEqual(again, runs.hybrid);
      // The stored document vectors are the model's too: a sample re-embedded matches bit for bit.
      const sample = cranfieldDocs().filter((_, i) => i % 100 === 7);
      const texts = sample.map((d) => (d.title ? `${d.title}\n${d.text}` : d.text));
      assert.deepEqual(await live.embed(texts), await embedder.embed(texts));
    } finally {
      await fresh.close();
    }
  });
});
