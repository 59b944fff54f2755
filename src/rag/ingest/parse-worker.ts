/**
 * The worker thread that parses one upload (isolate.ts starts it): loads the file with its
 * limits, chunks the text when asked, posts the result and exits. Its heap is capped and it is
 * terminated past its time limit, so a hostile file costs this thread, never the gateway's loop.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { isInferplaneError } from "../../errors.js";
import type { Chunk, SourceDocument } from "../types.js";
import type { ChunkOptions } from "./chunker.js";
import type { ParseLimits } from "./limits.js";
import { loadBuffer } from "./loaders.js";

export type ParseJob =
  | {
      kind: "load";
      data: Uint8Array;
      name: string;
      id: string;
      source: string;
      timestamp: number;
      limits: ParseLimits;
    }
  | { kind: "chunk"; docId: string; text: string; options: ChunkOptions };

export type ParseResult =
  | { ok: true; docs?: SourceDocument[]; chunks?: Chunk[] }
  | { ok: false; code?: string; message: string };

/**
 * This thread yields the CPU to the gateway's event loop: on Linux a thread is a task with its own
 * nice value, set through its task id (/proc/thread-self); elsewhere it keeps the default.
 */
function lowestPriority(): void {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {}
}

async function run(job: ParseJob): Promise<ParseResult> {
  if (job.kind === "chunk") {
    // The tokenizer (its BPE ranks) loads only in threads that chunk.
    const { chunkText } = await import("./chunker.js");
    return { ok: true, chunks: chunkText(job.docId, job.text, job.options) };
  }
  const docs = await loadBuffer(
    Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength),
    job.name,
    job.id,
    job.source,
    job.timestamp,
    job.limits,
  );
  const size = docs.reduce((n, d) => n + d.text.length, 0);
  if (size > job.limits.maxExpandedBytes) {
    return {
      ok: false,
      code: "rag_unsupported_file",
      message: `${job.name}: its text exceeds rag.ingest.maxExpandedBytes (${job.limits.maxExpandedBytes})`,
    };
  }
  return { ok: true, docs };
}

lowestPriority();
run(workerData as ParseJob).then(
  (r) => parentPort?.postMessage(r),
  (err: unknown) =>
    parentPort?.postMessage({
      ok: false,
      ...(isInferplaneError(err) ? { code: err.code } : {}),
      message:
        err instanceof RangeError ? "nesting too deep" : err instanceof Error ? err.message : String(err),
    } satisfies ParseResult),
);
