/**
 * The innermost layer: one attempt on one endpoint. Sends the request (the pool's served model
 * name, usage asked for on streams, the engine's headers, the trace context), classifies what
 * comes back, and hands a success to the relay. The endpoint is released and its
 * awaiting-first-token count restored whatever happens.
 */

import { readableBody, type UpstreamBody } from "../upstream/body.js";
import type { H1Request } from "../upstream/h1-client.js";
import type { Attempt, Exchange } from "./exchange.js";
import { type Failure, transportFailure } from "./failure.js";
import type { AttemptHandler, AttemptResult, RetryTimeouts } from "./layers.js";
import { type RelayHooks, relayJson, relayStream } from "./relay.js";

const MAX_ERROR_BODY = 64 * 1024;

/** The upstream body: the pool's model name; on a stream, usage asked for on the client's behalf. */
export function upstreamBody(ex: Exchange, upstreamModel: string): { body: string; stripUsage: boolean } {
  const body: Record<string, unknown> = { ...(ex.door ? ex.door.body : ex.body), model: upstreamModel };
  let stripUsage = false;
  if (ex.stream) {
    const so = body.stream_options;
    const asked =
      typeof so === "object" && so !== null && (so as { include_usage?: unknown }).include_usage === true;
    if (!asked) {
      body.stream_options = { ...(typeof so === "object" && so !== null ? so : {}), include_usage: true };
      stripUsage = true;
    }
  }
  return { body: JSON.stringify(body), stripUsage };
}

export interface AttemptDeps {
  timeouts(ex: Exchange): RetryTimeouts;
  env: NodeJS.ProcessEnv;
  observeOverhead(seconds: number): void;
  observeTtft(ex: Exchange, a: Attempt, seconds: number): void;
}

/** The attempt's clock (upstream time, excluded from overhead) and its first-token bookkeeping. */
function attemptClock(ex: Exchange, a: Attempt, deps: AttemptDeps) {
  const ep = a.ep;
  // Balancers weigh requests still awaiting their first token (queued or in prefill).
  ep.awaitingFirstToken++;
  let awaiting = true;
  const tDispatch = performance.now();
  ex.dispatchOverheadMs = tDispatch - ex.t0 - ex.upstreamMs;
  let counted = false;
  const countUpstream = () => {
    if (!counted) {
      counted = true;
      ex.upstreamMs += performance.now() - tDispatch;
    }
  };
  const hooks: RelayHooks = {
    observeOverhead: deps.observeOverhead,
    observeTtft: deps.observeTtft,
    onFirstToken: () => {
      if (awaiting) {
        awaiting = false;
        ep.awaitingFirstToken--;
      }
    },
  };
  return { countUpstream, hooks };
}

async function errorAnswer(resp: UpstreamResponse): Promise<Failure> {
  const body = await resp.body.bytes(MAX_ERROR_BODY).catch(() => Buffer.alloc(0));
  const retryAfter = resp.headers["retry-after"];
  return {
    kind: "answer",
    answer: { status: resp.statusCode, body, ...(typeof retryAfter === "string" ? { retryAfter } : {}) },
  };
}

interface UpstreamResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: UpstreamBody;
}

/**
 * Sends the request: a stream to a plain-http endpoint through the pool's own HTTP/1.1 client
 * (upstream/h1-client.ts), everything else through undici (both take the same options).
 */
async function send(ex: Exchange, a: Attempt, req: H1Request): Promise<UpstreamResponse> {
  const h1 = ex.stream ? a.pool.streamClient(a.ep) : undefined;
  if (h1) return h1.request(req);
  const resp = await a.pool.dispatcher(a.ep).request(req);
  return { statusCode: resp.statusCode, headers: resp.headers, body: readableBody(resp.body) };
}

export function dispatchAttempt(deps: AttemptDeps): AttemptHandler {
  return async (ex, a) => {
    const { pool, ep } = a;
    const path = pool.adapter.apiPath(ex.op);
    if (!path) {
      pool.release(ep);
      return { kind: "unservable" };
    }
    const { body, stripUsage } = upstreamBody(ex, pool.info.upstreamModel);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: ex.stream ? "text/event-stream" : "application/json",
      ...pool.adapter.requestHeaders(deps.env),
    };
    if (ex.traceparent !== undefined) headers.traceparent = ex.traceparent;
    const { countUpstream, hooks } = attemptClock(ex, a, deps);
    const t = deps.timeouts(ex);
    ex.upstreamStatus = 0;
    try {
      let resp: UpstreamResponse;
      try {
        resp = await send(ex, a, {
          method: "POST",
          path,
          headers,
          body,
          headersTimeout: t.firstByte,
          bodyTimeout: t.idle,
          signal: ex.signal,
        });
      } catch (err) {
        countUpstream();
        if (ex.signal.aborted) return { kind: "aborted" };
        return { kind: "failed", failure: transportFailure(err, pool.info.name, t.firstByte) };
      }
      ex.upstreamStatus = resp.statusCode;
      if (resp.statusCode >= 400) return { kind: "failed", failure: await errorAnswer(resp) };
      const r = ex.stream
        ? await relayStream(ex, a, { upstream: resp.body, stripUsage }, hooks)
        : await relayJson(ex, a, resp.statusCode, resp.body, hooks, countUpstream);
      return toResult(r);
    } finally {
      hooks.onFirstToken();
      countUpstream();
      pool.release(ep);
    }
  };
}

function toResult(r: Awaited<ReturnType<typeof relayStream>>): AttemptResult {
  if (r.kind === "early-failure") return { kind: "failed", failure: { kind: "lost", error: r.error } };
  return r;
}
