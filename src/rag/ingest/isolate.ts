/**
 * Parsing and chunking uploads off the event loop: each job runs on a worker thread with a heap
 * cap (`resourceLimits`) and a time limit; a thread that fails or runs out of time is terminated
 * and its memory goes with it, one that answers (a refusal included) is kept warm for the next job (for at most
 * IDLE_MS). A file that would take seconds of CPU or gigabytes of memory costs that thread only;
 * every other request on the gateway keeps its latency.
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

/** How long a warm worker waits for the next job before it ends (and its memory with it). */
const IDLE_MS = 30_000;

interface Idle {
  worker: Worker;
  memoryMb: number;
  timer: NodeJS.Timeout;
}
/** One warm worker: starting a thread costs tens of ms of CPU, a cost each upload would pay. */
let idle: Idle | undefined;

function spawn(memoryMb: number): Worker {
  return new Worker(WORKER, {
    eval: FROM_SOURCE,
    resourceLimits: {
      maxOldGenerationSizeMb: memoryMb,
      maxYoungGenerationSizeMb: Math.min(64, Math.max(8, Math.floor(memoryMb / 8))),
      stackSizeMb: 4,
    },
    stdout: true,
    stderr: true,
  });
}

function takeWorker(memoryMb: number): Worker {
  const warm = idle;
  idle = undefined;
  if (warm) {
    clearTimeout(warm.timer);
    if (warm.memoryMb === memoryMb) return warm.worker;
    void warm.worker.terminate();
  }
  return spawn(memoryMb);
}

function giveBack(worker: Worker, memoryMb: number): void {
  if (idle) {
    void worker.terminate();
    return;
  }
  worker.unref(); // a warm worker never keeps the process alive
  const timer = setTimeout(() => {
    if (idle?.worker === worker) idle = undefined;
    void worker.terminate();
  }, IDLE_MS);
  timer.unref();
  idle = { worker, memoryMb, timer };
}

/**
 * Runs one job on a worker: the warm one, or a new one. A worker that failed, ran out of memory
 * or out of time is terminated; one that answered goes back to be reused.
 */
function runJob(
  job: ParseJob,
  limits: ParseLimits,
  label: string,
  transfer: ArrayBuffer[] = [],
): Promise<ParseResult & { ok: true }> {
  return new Promise((resolve, reject) => {
    const worker = takeWorker(limits.memoryMb);
    worker.ref();
    let settled = false;
    const finish = (fn: () => void, reuse: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
      if (reuse) giveBack(worker, limits.memoryMb);
      else void worker.terminate();
      fn();
    };
    const timer = setTimeout(
      () =>
        finish(
          () =>
            reject(
              new InferplaneError(
                "rag_unsupported_file",
                `${label}: parsing took longer than rag.ingest.parseTimeout (${limits.timeoutMs} ms)`,
              ),
            ),
          false,
        ),
      limits.timeoutMs,
    );
    const onMessage = (r: ParseResult) =>
      finish(
        () =>
          r.ok
            ? resolve(r)
            : reject(
                new InferplaneError((r.code as ErrorCode | undefined) ?? "rag_unsupported_file", r.message),
              ),
        true, // it answered (a refusal included): the thread is sound
      );
    const onError = (err: Error & { code?: string }) =>
      finish(
        () =>
          reject(
            new InferplaneError(
              "rag_unsupported_file",
              err.code === "ERR_WORKER_OUT_OF_MEMORY"
                ? `${label}: parsing needs more than rag.ingest.parseMemory (${limits.memoryMb} MiB)`
                : `${label}: cannot parse: ${err.message}`,
            ),
          ),
        false,
      );
    const onExit = (code: number) =>
      finish(
        () => reject(new InferplaneError("rag_unsupported_file", `${label}: the parser exited (${code})`)),
        false,
      );
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
    worker.postMessage(job, transfer);
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
