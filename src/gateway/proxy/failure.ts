/**
 * Why an attempt failed, and what that means for the next one. Reasoned from what the engine
 * saw (Envoy's retry-on classes):
 * - `refused`: the request never reached an engine (connection refused or reset before it was
 *   sent, connect timeout). Always safe and cheap to send elsewhere: it does not use a retry of
 *   `gateway.retries.attempts` nor of the retry budget.
 * - `lost`: the engine took the request and gave no usable answer (first-byte timeout, a stream
 *   that broke before its first event).
 * - `answer`: an engine answered an error status or timed out. 429 and 5xx go to another
 *   endpoint within the attempts and the budget; a 501 or a "not supported" answer would be the
 *   same everywhere, so it is relayed at once and does not count against the endpoint.
 * - `gateway`: the gateway itself could not place the request (pool queue full, no endpoint).
 * When every try failed, the client gets the last real upstream error (its status, message and
 * `Retry-After`), never a gateway-side one that happened to come later.
 */
import { errors as undiciErrors } from "undici";
import { InferplaneError, isInferplaneError } from "../../errors.js";

export interface UpstreamAnswer {
  status: number;
  body: Buffer;
  retryAfter?: string;
}

export type Failure =
  | { kind: "refused"; error: InferplaneError }
  | { kind: "lost"; error: InferplaneError }
  | { kind: "answer"; answer: UpstreamAnswer }
  | { kind: "gateway"; error: InferplaneError };

/** What the retry layer does after a failed attempt. */
export type Next =
  /** Another endpoint (any pool of the chain); `free`: without using a retry or the budget. */
  | { to: "endpoint"; free: boolean; endpointFault: boolean }
  /** The route's context-length fallback, if any. */
  | { to: "context" }
  /** Nothing: relay this failure now. */
  | { to: "client" };

const NOT_SUPPORTED = /not (?:supported|implemented)|unsupported/i;

/** Errors that mean the request was never handed to the engine. */
const REFUSED_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
  // upstream/h1-client.ts
  "H1_CONNECT_TIMEOUT",
  "H1_CLOSED",
]);

const TIMEOUT_CODES = new Set(["H1_HEADERS_TIMEOUT", "H1_BODY_TIMEOUT"]);

/** Classifies an error thrown by the upstream request before its response headers arrived. */
export function transportFailure(err: unknown, poolName: string, firstByteMs: number): Failure {
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    TIMEOUT_CODES.has((err as { code?: string }).code ?? "")
  ) {
    return {
      kind: "lost",
      error: new InferplaneError("upstream_timeout", `no answer from ${poolName} within ${firstByteMs} ms`),
    };
  }
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code ?? "";
  const message = e.message || e.cause?.message || String(err);
  const error = new InferplaneError(
    "upstream_error",
    `cannot reach an endpoint of ${poolName}: ${code && !message.includes(code) ? `${code} ` : ""}${message}`,
  );
  if (err instanceof undiciErrors.ConnectTimeoutError || REFUSED_CODES.has(code))
    return { kind: "refused", error };
  return { kind: "lost", error };
}

/** What to do after an upstream error answer. */
export function nextAfterAnswer(a: UpstreamAnswer, isContextLength: () => boolean): Next {
  if (a.status === 501 || (a.status >= 500 && NOT_SUPPORTED.test(a.body.toString("utf8", 0, 2048)))) {
    return { to: "client" };
  }
  if (a.status === 429) return { to: "endpoint", free: false, endpointFault: false };
  if (a.status >= 500) return { to: "endpoint", free: false, endpointFault: true };
  if (isContextLength()) return { to: "context" };
  return { to: "client" };
}

export function nextAfter(f: Failure, isContextLength: () => boolean): Next {
  switch (f.kind) {
    case "refused":
      return { to: "endpoint", free: true, endpointFault: true };
    case "lost":
      return { to: "endpoint", free: false, endpointFault: true };
    case "gateway":
      return { to: "client" };
    case "answer":
      return nextAfterAnswer(f.answer, isContextLength);
  }
}

/** Whether the failure counts against the endpoint (outlier detection). */
export function endpointFault(f: Failure): boolean {
  if (f.kind === "gateway") return false;
  if (f.kind !== "answer") return true;
  const next = nextAfterAnswer(f.answer, () => false);
  return next.to === "endpoint" && next.endpointFault;
}

/** The failure to report: a real upstream one wins over a gateway-side one that came later. */
export function worse(kept: Failure | undefined, next: Failure): Failure {
  if (kept === undefined || next.kind !== "gateway" || kept.kind === "gateway") return next;
  return kept;
}

export function gatewayFailure(err: unknown): Failure {
  return {
    kind: "gateway",
    error: isInferplaneError(err) ? err : new InferplaneError("internal", String(err)),
  };
}
