/** RAG series on the gateway's registry (naming per src/telemetry/metrics.ts; listed in docs/metrics.md). */
import { Counter, Histogram, type Registry } from "prom-client";
import { metricName, STAGE_BUCKETS } from "../telemetry/metrics.js";

export type RagStage = "chunk" | "embed" | "store" | "search" | "rerank" | "generate";

export class RagMetrics {
  readonly documents: Counter<"collection" | "result">;
  readonly chunks: Counter<"collection">;
  readonly stage: Histogram<"stage">;
  readonly storeErrors: Counter<"store" | "op">;

  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.documents = new Counter({
      name: metricName("rag", "documents_ingested_total"),
      help: "Documents seen by ingestion, by result: added, replaced, unchanged (skipped by content hash).",
      labelNames: ["collection", "result"],
      registers,
    });
    this.chunks = new Counter({
      name: metricName("rag", "chunks_ingested_total"),
      help: "Chunks written to the store.",
      labelNames: ["collection"],
      registers,
    });
    this.stage = new Histogram({
      name: metricName("rag", "stage_duration_seconds"),
      help: "Time in each RAG stage: chunk, embed, store (writes), search, rerank, generate.",
      labelNames: ["stage"],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.storeErrors = new Counter({
      name: metricName("rag", "store_errors_total"),
      help: "Store operations that failed, by store kind and operation.",
      labelNames: ["store", "op"],
      registers,
    });
  }

  /** Runs fn and records its duration under stage. */
  async time<T>(stage: RagStage, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.stage.observe({ stage }, (performance.now() - t0) / 1000);
    }
  }
}
