/**
 * An upstream response body as the relay reads it, whichever client fetched it: bytes held as
 * latin1 strings (one char per byte), handed over one read at a time.
 */
import type { Readable } from "node:stream";

export interface UpstreamBody {
  /**
   * Feeds the body to `onData` until it ends (resolves) or fails (rejects). "wait": pause until
   * `drained` resolves; "stop": end the request here and resolve.
   */
  each(onData: (bytes: string) => "next" | "stop" | "wait", drained: () => Promise<void>): Promise<void>;
  /** The first `cap` bytes of the body, the rest read and dropped (error answers). */
  bytes(cap: number): Promise<Buffer>;
  /** Ends the request without reading the rest. */
  destroy(): void;
}

/** A Node Readable (undici's bodies, tests) as an UpstreamBody. */
export function readableBody(body: Readable): UpstreamBody {
  return {
    each: (onData, drained) => readEach(body, onData, drained),
    bytes: (cap) => readAll(body, cap),
    destroy: () => body.destroy(),
  };
}

/** On data events: no promise per chunk, unlike `for await` (a relayed token is one chunk). */
function readEach(
  body: Readable,
  onData: (bytes: string) => "next" | "stop" | "wait",
  drained: () => Promise<void>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let finished = false;
    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
      body.off("data", onChunk);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onChunk = (chunk: Buffer) => {
      if (finished) return;
      let next: "next" | "stop" | "wait";
      try {
        next = onData(chunk.toString("latin1"));
      } catch (err) {
        body.destroy();
        finish(err);
        return;
      }
      if (next === "stop") {
        finish();
        body.destroy();
      } else if (next === "wait") {
        body.pause();
        void drained().then(() => {
          if (!finished) body.resume();
        });
      }
    };
    body.on("data", onChunk);
    body.once("end", () => finish());
    body.once("error", (err) => finish(err));
    body.once("close", () => {
      if (!finished) finish(new Error("the upstream stream closed early"));
    });
  });
}

/** A body's first `cap` bytes, on data events (an async iterator costs a promise per chunk). */
function readAll(body: Readable, cap: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let ended = false;
    body.on("data", (chunk: Buffer) => {
      if (size < cap) parts.push(chunk);
      size += chunk.length;
    });
    body.once("end", () => {
      ended = true;
      const all = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
      resolve(all.length > cap ? all.subarray(0, cap) : all);
    });
    body.once("error", reject);
    body.once("close", () => {
      if (!ended) reject(new Error("the upstream body closed early"));
    });
  });
}
