/** The RAG test stack (not a test file itself): three simulators and the spec that routes to them. */
import { join } from "node:path";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";

export interface RagSims {
  chat: SimServerHandle;
  embed: SimServerHandle;
  rerank: SimServerHandle;
  stop(): Promise<void>;
}

/** A chat model, bge-m3 (hash embeddings) and bge-reranker (word-overlap scores), at speed 50. */
export async function startRagSims(): Promise<RagSims> {
  const chat = await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", speed: 50 });
  const embed = await startSimServer({ model: "bge-m3", gpu: "L4", speed: 50 });
  const rerank = await startSimServer({ model: "bge-reranker-v2-m3", gpu: "L4", speed: 50 });
  return {
    chat,
    embed,
    rerank,
    stop: async () => {
      await Promise.all([chat.stop(), embed.stop(), rerank.stop()]);
    },
  };
}

/**
 * A spec with routes chat, embed and rerank over the sims and a `rag:` section on SQLite in `dir`;
 * `rag` holds the lines of rerank/answer/ingest settings, `tail` whatever follows (observability).
 */
export function ragSpecYaml(
  sims: RagSims,
  dir: string,
  o: { topN: number; maxContextTokens: number; minScore: number; rag?: string; tail?: string },
): string {
  const { chat, embed, rerank } = sims;
  return `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: llama, source: hf://meta-llama/Llama-3.1-8B-Instruct, servedModelName: ${chat.servedModelName}, endpoints: ["${chat.url}"]}
  - {name: embedder, source: hf://BAAI/bge-m3, servedModelName: ${embed.servedModelName}, endpoints: ["${embed.url}"]}
  - {name: reranker, source: hf://BAAI/bge-reranker-v2-m3, servedModelName: ${rerank.servedModelName}, endpoints: ["${rerank.url}"]}
routes:
  - {name: chat, targets: [{model: llama}]}
  - {name: embed, targets: [{model: embedder}]}
  - {name: rerank, targets: [{model: reranker}]}
rag:
  embedding: {route: embed, dimensions: 1024}
  rerank: {route: rerank, topN: ${o.topN}}
  answer: {route: chat, maxContextTokens: ${o.maxContextTokens}, minScore: ${o.minScore}}
  stores:
    vector: {kind: sqlite, path: ${join(dir, "rag.db")}}
    keyword: {kind: sqlite, path: ${join(dir, "rag.db")}}
${o.rag ?? ""}${o.tail ?? ""}`;
}
