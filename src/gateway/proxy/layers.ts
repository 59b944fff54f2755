/**
 * The request path as layers around one dispatch, in undici's interceptor style: a layer takes
 * the next handler and returns a handler. Request layers (accounting, tracing, timeouts, the
 * fallback chain) wrap the whole exchange; attempt layers (outlier bookkeeping, the attempt
 * span) wrap one try of one endpoint. See docs/gateway.md for the order.
 */
import type { Attempt, Exchange } from "./exchange.js";
import type { Failure } from "./failure.js";

export type AttemptResult =
  | { kind: "done"; healthy: boolean }
  | { kind: "failed"; failure: Failure }
  | { kind: "aborted" }
  /** The pool's engine has no path for this operation. */
  | { kind: "unservable" };

export type AttemptHandler = (ex: Exchange, a: Attempt) => Promise<AttemptResult>;
export type AttemptLayer = (next: AttemptHandler) => AttemptHandler;

export type Handler = (ex: Exchange) => Promise<void>;
export type Layer = (next: Handler) => Handler;

/** `compose(core, a, b)` is `a(b(core))`: the first layer is the outermost. */
export function compose<H>(core: H, ...layers: ((next: H) => H)[]): H {
  let h = core;
  for (let i = layers.length - 1; i >= 0; i--) h = (layers[i] as (next: H) => H)(h);
  return h;
}

export interface RetryTimeouts {
  connect: number;
  firstByte: number;
  idle: number;
  total: number;
}
