/**
 * Parsing and chunking uploads off the event loop: each job runs in its own worker thread with
 * a heap cap (`resourceLimits`) and a time limit, then the thread ends and its memory with it.
 * A file that would take seconds of CPU or gigabytes of memory costs that thread only; every
 * other request on the gateway keeps its latency.
 */
import { Worker } from "node:worker_threads";
import { type ErrorCode, InferplaneError } from "../../errors.js";
import type { Chunk, SourceDocument } from "../types.js";
import type { ChunkOptions } from "./chunker.js";
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from "./limits.js";
import type { ParseJob, ParseResult } from "./parse-worker.js";

// Built, the worker is the .js file. Run from source (tests, through tsx), a worker thread does not
// inherit tsx's loader: a small bootstrap registers it, then imports the .ts file.
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const WORKER: URL | string = FROM_SOURCE
  ? `(async () => { const { register } = await import("tsx/esm/api"); register(); await import(${JSON.stringify(new URL("./parse-worker.ts", import.meta.url).href)}); })();`
  : new URL("./parse-worker.js", import.meta.url);

function runJob(
  job: ParseJob,
  limits: ParseLimits,
  label: string,
  transfer: ArrayBuffer[] = [],
): Promise<ParseResult & { ok: true }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, {
      eval: FROM_SOURCE,
      workerData: job,
      transferList: transfer,
      resourceLimits: {
        maxOldGenerationSizeMb: limits.memoryMb,
        maxYoungGenerationSizeMb: Math.min(64, Math.max(8, Math.floor(limits.memoryMb / 8))),
        stackSizeMb: 4,
      },
      stdout: true,
      stderr: true,
    });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new InferplaneError(
              "rag_unsupported_file",
              `${label}: parsing took longer than rag.ingest.parseTimeout (${limits.timeoutMs} ms)`,
            ),
          ),
        ),
      limits.timeoutMs,
    );
    worker.once("message", (r: ParseResult) =>
      finish(() =>
        r.ok
          ? resolve(r)
          : reject(
              new InferplaneError((r.code as ErrorCode | undefined) ?? "rag_unsupported_file", r.message),
            ),
      ),
    );
    worker.once("error", (err: Error & { code?: string }) =>
      finish(() =>
        reject(
          new InferplaneError(
            "rag_unsupported_file",
            err.code === "ERR_WORKER_OUT_OF_MEMORY"
              ? `${label}: parsing needs more than rag.ingest.parseMemory (${limits.memoryMb} MiB)`
              : `${label}: cannot parse: ${err.message}`,
          ),
        ),
      ),
    );
    worker.once("exit", (code) =>
      finish(() =>
        reject(new InferplaneError("rag_unsupported_file", `${label}: the parser exited (${code})`)),
      ),
    );
  });
}

/** loadBuffer in a worker thread: the documents of one file, or a rag_unsupported_file error. */
export async function loadBufferIsolated(
  data: Buffer,
  name: string,
  id: string,
  source: string,
  timestamp: number,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): Promise<SourceDocument[]> {
  const r = await runJob(
    { kind: "load", data: new Uint8Array(data), name, id, source, timestamp, limits },
    limits,
    name,
  );
  return r.docs ?? [];
}

/**
 * The documents of a multipart/form-data upload, split and loaded in a worker thread. The body's
 * memory moves to the worker when it owns its ArrayBuffer whole (no copy on this thread); the
 * caller must not use `body` afterwards.
 */
export async function multipartIsolated(
  body: Buffer,
  contentType: string,
  maxBytes: number,
  timestamp: number,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): Promise<SourceDocument[]> {
  const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
  const data = owned ? new Uint8Array(body.buffer, 0, body.byteLength) : new Uint8Array(body);
  const r = await runJob(
    { kind: "multipart", body: data, contentType, maxBytes, timestamp, limits },
    limits,
    "multipart body",
    owned ? [body.buffer as ArrayBuffer] : [],
  );
  return r.docs ?? [];
}

/** Texts shorter than this are chunked inline: a worker's start costs more than they do. */
export const INLINE_CHUNK_CHARS = 32 * 1024;

/** chunkText in a worker thread (for long documents). */
export async function chunkIsolated(
  docId: string,
  text: string,
  options: ChunkOptions,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): Promise<Chunk[]> {
  const r = await runJob({ kind: "chunk", docId, text, options }, limits, docId);
  return r.chunks ?? [];
}
