/**
 * Bounds on parsing one upload (spec `rag.ingest`): what a file may expand to, how many PDF pages
 * are read, and the worker thread's time and heap. The PDF check inflates every Flate stream with
 * a hard output cap before pdf.js sees the file, so a small file that decompresses to gigabytes
 * is refused having used at most the cap.
 */
import { inflateSync } from "node:zlib";

export interface ParseLimits {
  maxExpandedBytes: number;
  maxPdfPages: number;
  /** Wall time of the worker thread (it runs nothing else), ms. */
  timeoutMs: number;
  /** Heap of the worker thread, MiB. */
  memoryMb: number;
}

/** The schema's defaults (src/spec/schema.ts rag.ingest), for callers without a spec. */
export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxExpandedBytes: 64 * 1024 * 1024,
  maxPdfPages: 2000,
  timeoutMs: 20_000,
  memoryMb: 256,
};

export function parseLimitsOf(ingest: {
  maxExpandedBytes: number;
  maxPdfPages: number;
  parseTimeout: number;
  parseMemory: number;
}): ParseLimits {
  return {
    maxExpandedBytes: ingest.maxExpandedBytes,
    maxPdfPages: ingest.maxPdfPages,
    timeoutMs: ingest.parseTimeout,
    memoryMb: ingest.parseMemory,
  };
}

const STREAM = Buffer.from("stream");
const ENDSTREAM = Buffer.from("endstream");
/** How far back from `stream` the stream's dictionary is looked for. */
const DICT_WINDOW = 2048;

/**
 * Throws when the PDF's Flate-compressed streams, inflated (filter chains of several Flate
 * stages included), add up to more than `max` bytes. Linear in the file; memory bounded by `max`.
 */
export function checkPdfExpansion(data: Uint8Array, max: number): void {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let total = 0;
  let at = 0;
  for (;;) {
    const s = buf.indexOf(STREAM, at);
    if (s < 0) return;
    if (s >= 3 && buf.toString("latin1", s - 3, s) === "end") {
      at = s + STREAM.length;
      continue;
    }
    const stream = streamAt(buf, s);
    total += inflatedSize(stream.body, stream.filters, max, total);
    at = stream.end + ENDSTREAM.length;
  }
}

/** The stream whose `stream` keyword is at `s`: its raw body, where it ends, its Flate stages. */
function streamAt(buf: Buffer, s: number): { body: Buffer; end: number; filters: number } {
  let start = s + STREAM.length;
  if (buf[start] === 0x0d) start++;
  if (buf[start] === 0x0a) start++;
  const e = buf.indexOf(ENDSTREAM, start);
  const end = e < 0 ? buf.length : e;
  const dict = buf.toString("latin1", Math.max(0, s - DICT_WINDOW), s);
  const filters = dict.slice(dict.lastIndexOf("<<")).match(/\/(FlateDecode|Fl)\b/g)?.length ?? 0;
  return { body: buf.subarray(start, end), end, filters };
}

/** Bytes a stream inflates to through its Flate stages (0 when it is not Flate data after all). */
function inflatedSize(raw: Buffer, filters: number, max: number, total: number): number {
  const tooBig = () => new Error(`its streams expand past rag.ingest.maxExpandedBytes (${max})`);
  let body = raw;
  for (let stage = 0; stage < filters; stage++) {
    try {
      body = inflateSync(body, { maxOutputLength: Math.max(1, max - total + 1) });
    } catch (err) {
      if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw tooBig();
      return 0; // not Flate data after all: pdf.js will judge it
    }
  }
  if (filters > 0 && total + body.length > max) throw tooBig();
  return filters > 0 ? body.length : 0;
}
