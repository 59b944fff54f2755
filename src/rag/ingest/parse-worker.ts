/**
 * The worker thread that parses uploads (isolate.ts starts it): loads a file with its limits, or
 * chunks a text, one job at a time, and posts each result. Its heap is capped and it is terminated
 * past its time limit, so a hostile file costs this thread, never the gateway's loop.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort } from "node:worker_threads";
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
  | { kind: "chunk"; docId: string; text: string; options: ChunkOptions }
  | {
      kind: "multipart";
      body: Uint8Array;
      contentType: string;
      /** Largest file (rag.ingest.maxBytes). */
      maxBytes: number;
      timestamp: number;
      limits: ParseLimits;
    };

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

/** The files of a multipart/form-data body, each loaded (a document id is its file name). */
async function multipart(job: ParseJob & { kind: "multipart" }): Promise<ParseResult> {
  let form: FormData;
  try {
    form = await new Response(job.body, { headers: { "content-type": job.contentType } }).formData();
  } catch (err) {
    return { ok: false, code: "invalid_request", message: `multipart body: ${(err as Error).message}` };
  }
  const docs: SourceDocument[] = [];
  for (const [field, value] of form.entries()) {
    if (typeof value === "string") continue;
    const name = value.name || field;
    if (value.size > job.maxBytes) {
      return {
        ok: false,
        code: "request_too_large",
        message: `${name}: larger than rag.ingest.maxBytes (${job.maxBytes})`,
      };
    }
    const loaded = await load({
      kind: "load",
      data: new Uint8Array(await value.arrayBuffer()),
      name,
      id: name,
      source: name,
      timestamp: job.timestamp,
      limits: job.limits,
    });
    if (!loaded.ok) return loaded;
    docs.push(...(loaded.docs ?? []));
  }
  if (docs.length === 0)
    return { ok: false, code: "invalid_request", message: "the multipart body holds no file" };
  return { ok: true, docs };
}

async function run(job: ParseJob): Promise<ParseResult> {
  if (job.kind === "multipart") return multipart(job);
  if (job.kind === "chunk") {
    // The tokenizer (its BPE ranks) loads only in threads that chunk.
    const { chunkText } = await import("./chunker.js");
    return { ok: true, chunks: chunkText(job.docId, job.text, job.options) };
  }
  return load(job);
}

async function load(job: ParseJob & { kind: "load" }): Promise<ParseResult> {
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

function answer(job: ParseJob): Promise<ParseResult> {
  return run(job).catch(
    (err: unknown): ParseResult => ({
      ok: false,
      ...(isInferplaneError(err) ? { code: err.code } : {}),
      message:
        err instanceof RangeError ? "nesting too deep" : err instanceof Error ? err.message : String(err),
    }),
  );
}

lowestPriority();
// One job at a time, as isolate.ts sends them; the thread is reused until a job fails or times out.
parentPort?.on("message", (job: ParseJob) => {
  void answer(job).then((r) => parentPort?.postMessage(r));
});
