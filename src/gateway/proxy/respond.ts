/**
 * Writing answers for an exchange: every one carries `x-request-id` and the gateway's overhead;
 * errors take the OpenAI shape, or the front door's shape on a door.
 */
import { InferplaneError, isInferplaneError } from "../../errors.js";
import { type Exchange, OVERHEAD_HEADER, REQUEST_ID_HEADER } from "./exchange.js";
import type { Failure } from "./failure.js";

export function sendJson(
  ex: Exchange,
  status: number,
  body: Buffer | string,
  headers: Record<string, string> = {},
): void {
  const res = ex.res;
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    [REQUEST_ID_HEADER]: ex.requestId,
    [OVERHEAD_HEADER]: (ex.overheadMs >= 0 ? ex.overheadMs : ex.overheadNow()).toFixed(3),
    ...headers,
  });
  res.end(body);
}

/** An error in the exchange's shape (OpenAI, or its front door's). */
export function sendError(ex: Exchange, err: InferplaneError, headers: Record<string, string> = {}): void {
  sendErrorStatus(ex, err.def.status, err, headers);
}

function sendErrorStatus(
  ex: Exchange,
  status: number,
  err: InferplaneError,
  headers: Record<string, string>,
) {
  const body = ex.doorErrorBody ? ex.doorErrorBody(err) : err.toOpenAI();
  sendJson(ex, status, JSON.stringify(body), headers);
}

/** The OpenAI error an upstream's own error answer carries (its message, code and param). */
export function upstreamError(status: number, body: Buffer): InferplaneError {
  const text = body.toString("utf8");
  let message = `upstream answered ${status}: ${text.slice(0, 200)}`;
  let param: string | undefined;
  try {
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown; detail?: unknown };
    const inner =
      typeof parsed.error === "object" && parsed.error !== null
        ? (parsed.error as Record<string, unknown>)
        : parsed;
    const m = (inner as { message?: unknown }).message ?? parsed.detail;
    if (typeof m === "string") message = m;
    const p = (inner as { param?: unknown }).param;
    if (typeof p === "string") param = p;
  } catch {
    // not JSON: the raw text is the message
  }
  const code = status === 429 ? "rate_limit_exceeded" : status >= 500 ? "upstream_error" : "invalid_request";
  return new InferplaneError(code, message, param === undefined ? {} : { param });
}

/**
 * Relays a final failure: an upstream's answer with its own status and `Retry-After` (its JSON
 * body as is on OpenAI paths), a gateway error with its code's status.
 */
export function replyFailure(ex: Exchange, f: Failure | undefined, routeName: string): void {
  if (f === undefined) {
    sendError(
      ex,
      new InferplaneError("no_healthy_upstream", `no pool of route ${routeName} has an endpoint`),
    );
    return;
  }
  if (f.kind !== "answer") {
    const err = f.error;
    sendError(ex, err, err.code === "pool_queue_full" ? { "retry-after": "1" } : {});
    return;
  }
  const a = f.answer;
  const extra: Record<string, string> = a.retryAfter ? { "retry-after": a.retryAfter } : {};
  if (!ex.doorErrorBody && a.body[0] === 0x7b /* { */) {
    sendJson(ex, a.status, a.body, extra); // OpenAI-shaped already (vLLM and friends)
    return;
  }
  sendErrorStatus(ex, a.status, upstreamError(a.status, a.body), extra);
}

/** Answers a cancelled exchange: a timeout is answered, a client that went away is not. */
export function replyAborted(ex: Exchange): void {
  const reason: unknown = ex.signal.reason;
  if (isInferplaneError(reason)) sendError(ex, reason);
  else if (!ex.res.headersSent && !ex.res.destroyed) ex.res.destroy();
}
