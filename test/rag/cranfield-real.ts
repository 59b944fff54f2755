// Cranfield with the real embedding model: the vectors are computed once by the embedded engine's
// model and cached in .cache/cranfield-vectors/ (keyed by the model files' SHA-256 and the text),
// so every store test reuses them instead of re-embedding 1,400 documents.
import { join } from "node:path";
import { artifactFor } from "../../src/engines/embedded/artifacts.js";
import type { Embedder } from "../../src/rag/clients.js";
import { readQrels, readQueries } from "../../src/rag/eval/beir.js";
import type { Qrels, Run } from "../../src/rag/eval/metrics.js";
import { ingestDocuments } from "../../src/rag/ingest/pipeline.js";
import { CachingEmbedder, ModelEmbedder } from "../../src/rag/model-embedder.js";
import { type SearchRequest, search } from "../../src/rag/retrieve/search.js";
import type { RagStore } from "../../src/rag/types.js";
import { CRANFIELD, cranfieldDocs } from "./contract.js";
import { CACHE_DIR, MODEL_ID, realModel } from "./embedded-model.js";

const artifact = artifactFor(MODEL_ID);
if (!artifact) throw new Error(`no artefact for ${MODEL_ID}`);
export const VECTOR_CACHE = join(
  CACHE_DIR,
  "cranfield-vectors",
  `${MODEL_ID}-${artifact.onnx.sha256.slice(0, 12)}.jsonl`,
);

/** The real model behind a file cache of its Cranfield vectors. */
export async function cranfieldEmbedder(): Promise<CachingEmbedder> {
  return new CachingEmbedder(new ModelEmbedder(await realModel()), VECTOR_CACHE, artifact?.onnx.sha256 ?? "");
}

/** Cranfield ingested into `collection` with 384-dimensional real vectors (RAG default chunking). */
export async function ingestCranfield(
  store: RagStore,
  collection: string,
  embedder: Embedder,
): Promise<void> {
  await store.createCollection({ name: collection, embeddingRoute: MODEL_ID, dimensions: 384, createdAt: 0 });
  await ingestDocuments(store, collection, cranfieldDocs(), {
    chunking: { maxTokens: 512, overlapTokens: 64 },
    embedder,
  });
}

export const queries = () => readQueries(CRANFIELD);
export const qrels = (): Qrels => readQrels(CRANFIELD);

/** One run of all 150 judged queries: document ids, best first, per query. */
export async function cranfieldRun(
  store: RagStore,
  collection: string,
  embedder: Embedder,
  req: Omit<SearchRequest, "query">,
): Promise<Run> {
  const run: Run = new Map();
  for (const q of queries()) {
    const { hits } = await search({ store, embedder }, collection, { ...req, query: q.text });
    run.set(
      q.id,
      hits.map((h) => h.docId),
    );
  }
  return run;
}
