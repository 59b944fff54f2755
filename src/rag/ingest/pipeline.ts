/**
 * Ingestion: documents → content hash → (unchanged: skip) → chunks → embeddings in batches
 * → one store write per batch of documents, each document replaced atomically. Because a
 * document is written whole or not at all and unchanged ones are skipped, re-running an
 * interrupted ingest finishes it and yields the same store as an uninterrupted run.
 */
import { createHash } from "node:crypto";
import { type Span, TRACING_OFF, type Tracing, withSpan } from "../../telemetry/tracing.js";
import type { Embedder } from "../clients.js";
import type { RagMetrics } from "../metrics.js";
import type { ChunkRecord, DocumentWrite, RagStore, SourceDocument } from "../types.js";
import { type ChunkOptions, chunkText } from "./chunker.js";
import { chunkIsolated, INLINE_CHUNK_CHARS } from "./isolate.js";

export interface IngestOptions {
  chunking: ChunkOptions;
  /** Without an embedder chunks are stored for BM25 only (no vectors). */
  embedder?: Embedder;
  /** Documents per store transaction. */
  batchDocuments?: number;
  metrics?: RagMetrics;
  onProgress?: (p: IngestProgress) => void;
  /** `rag.embed` and `rag.store` spans per batch under `parent` (the `rag.ingest` request span). */
  tracing?: Tracing;
  parent?: Span;
}

export interface IngestProgress {
  documents: number;
  total: number;
  chunks: number;
}

export interface IngestReport {
  documents: number;
  added: number;
  replaced: number;
  unchanged: number;
  chunks: number;
  /** Time in each stage, ms (embedMs is the embedding server's share). */
  chunkMs: number;
  embedMs: number;
  storeMs: number;
  totalMs: number;
}

export function contentHash(doc: SourceDocument): string {
  return createHash("sha256")
    .update(doc.title ?? "")
    .update("\u0000")
    .update(doc.text)
    .update("\u0000")
    .update(JSON.stringify(doc.metadata ?? {}))
    .digest("hex");
}

export async function ingestDocuments(
  store: RagStore,
  collection: string,
  docs: SourceDocument[],
  opts: IngestOptions,
): Promise<IngestReport> {
  const t0 = performance.now();
  const report: IngestReport = {
    documents: docs.length,
    added: 0,
    replaced: 0,
    unchanged: 0,
    chunks: 0,
    chunkMs: 0,
    embedMs: 0,
    storeMs: 0,
    totalMs: 0,
  };
  const seen = new Set<string>();
  for (const d of docs) {
    if (seen.has(d.id)) throw new Error(`document id "${d.id}" appears twice in one ingest`);
    seen.add(d.id);
  }
  const tracing = opts.tracing ?? TRACING_OFF;
  const batch = Math.max(1, opts.batchDocuments ?? 256);
  let done = 0;
  for (let i = 0; i < docs.length; i += batch) {
    const slice = docs.slice(i, i + batch);
    const known = await store.documentHashes(
      collection,
      slice.map((d) => d.id),
    );
    const writes: DocumentWrite[] = [];
    let tc = performance.now();
    for (const doc of slice) {
      const hash = contentHash(doc);
      const prev = known.get(doc.id);
      if (prev === hash) {
        report.unchanged++;
        opts.metrics?.documents.inc({ collection, result: "unchanged" });
        continue;
      }
      if (prev === undefined) report.added++;
      else report.replaced++;
      opts.metrics?.documents.inc({ collection, result: prev === undefined ? "added" : "replaced" });
      // A long text is chunked (tokenized) in a worker thread: seconds of BPE must not stall the loop.
      const pieces =
        doc.text.length > INLINE_CHUNK_CHARS
          ? await chunkIsolated(doc.id, doc.text, opts.chunking)
          : chunkText(doc.id, doc.text, opts.chunking);
      const chunks: ChunkRecord[] = pieces.map((c) => ({
        ...c,
        source: doc.source,
        timestamp: doc.timestamp,
        ...(doc.title ? { title: doc.title } : {}),
        ...(doc.metadata ? { metadata: doc.metadata } : {}),
      }));
      writes.push({ doc, contentHash: hash, chunks });
    }
    const chunkMs = performance.now() - tc;
    report.chunkMs += chunkMs;
    opts.metrics?.stage.observe({ stage: "chunk" }, chunkMs / 1000);
    const all = writes.flatMap((w) => w.chunks);
    const embedder = opts.embedder;
    if (embedder && all.length > 0) {
      tc = performance.now();
      const vectors = await withSpan(
        tracing,
        "rag.embed",
        { "inferplane.rag.stage": "embed", "inferplane.rag.chunks": all.length },
        (span) =>
          embedder.embed(
            all.map((c) => (c.title && c.ordinal === 0 ? `${c.title}\n${c.text}` : c.text)),
            span,
          ),
        opts.parent,
      );
      all.forEach((c, j) => {
        c.vector = vectors[j];
      });
      const ms = performance.now() - tc;
      report.embedMs += ms;
      opts.metrics?.stage.observe({ stage: "embed" }, ms / 1000);
    }
    if (writes.length > 0) {
      tc = performance.now();
      try {
        await withSpan(
          tracing,
          "rag.store",
          {
            "inferplane.rag.stage": "store",
            "inferplane.rag.store": store.kind,
            "inferplane.rag.documents": writes.length,
          },
          () => store.upsertDocuments(collection, writes),
          opts.parent,
        );
      } catch (err) {
        opts.metrics?.storeErrors.inc({ store: store.kind, op: "upsert" });
        throw err;
      }
      const ms = performance.now() - tc;
      report.storeMs += ms;
      opts.metrics?.stage.observe({ stage: "store" }, ms / 1000);
      opts.metrics?.chunks.inc({ collection }, all.length);
    }
    report.chunks += all.length;
    done += slice.length;
    opts.onProgress?.({ documents: done, total: docs.length, chunks: report.chunks });
  }
  report.totalMs = performance.now() - t0;
  return report;
}
