import { EventEmitter } from "node:events";

/**
 * Cancellation of one proxied request (client gone, total timeout): what an AbortController does,
 * as a plain EventEmitter, which undici accepts as a request `signal`. `new AbortController()`
 * builds an EventTarget, and undici adds and removes an `abort` listener on it for every request:
 * +13 to +24 µs of gateway CPU per request in the ablation ladder of docs/benchmarks.md, against
 * nothing measurable for an emitter.
 */
export class Cancel extends EventEmitter {
  aborted = false;
  /** Why: an InferplaneError (timeout) is answered to the client; anything else drops it. */
  reason: unknown = undefined;

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit("abort");
  }
}
