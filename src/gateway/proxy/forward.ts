/**
 * Forwarding one API request: route → pool → endpoint, with retries on another endpoint and
 * fallback routes, all strictly before the first byte reaches the client. After that a failure
 * ends the stream with an SSE error event, never a silent truncation.
 */
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { errors as undiciErrors } from "undici";
import { InferplaneError, isInferplaneError } from "../../errors.js";
import type { RouteSpec } from "../../spec/schema.js";
import type { GatewayMetrics } from "../metrics.js";
import { prefixKey as prefixKeyOf } from "../routing/prefix-key.js";
import type { Router } from "../routing/router.js";
import type { EndpointState } from "../types.js";
import type { UpstreamPool } from "../upstream/pool.js";
import type { RetryBudget } from "./retry-budget.js";
import { SseRelay, sseError } from "./sse-relay.js";

export type ApiOp = "chat" | "completions" | "embeddings" | "rerank";

export interface ForwardDeps {
  router: Router;
  pools: ReadonlyMap<string, UpstreamPool>;
  budget: RetryBudget;
  metrics: GatewayMetrics;
  timeouts: { connect: number; firstByte: number; idle: number; total: number };
  retries: number;
  /** Outlier bookkeeping after each attempt. */
  onSuccess(pool: UpstreamPool, ep: EndpointState): void;
  onFailure(pool: UpstreamPool, ep: EndpointState): void;
  env: NodeJS.ProcessEnv;
}

/** An upstream error response kept to relay if every other attempt fails too. */
interface UpstreamFailure {
  status: number;
  body: Buffer;
  retryAfter?: string;
}

type Outcome =
  | { kind: "done" }
  | { kind: "retry"; failure: UpstreamFailure | InferplaneError }
  | { kind: "context"; failure: UpstreamFailure }
  | { kind: "aborted" };

const MAX_ERROR_BODY = 64 * 1024;

/** Per-request clock: arrival, and upstream time so far (every attempt's), so overhead = the rest. */
const TIMING = Symbol("inferplane.timing");
interface Timing {
  t0: number;
  upstreamMs: number;
}
type TimedResponse = ServerResponse & { [TIMING]?: Timing };

export function startTiming(res: ServerResponse, t0: number): Timing {
  const timing = { t0, upstreamMs: 0 };
  (res as TimedResponse)[TIMING] = timing;
  return timing;
}

/** Time spent in the gateway so far, ms (upstream time excluded). */
function timingOf(res: ServerResponse): Timing {
  return (res as TimedResponse)[TIMING] ?? startTiming(res, performance.now());
}

function overheadMs(res: ServerResponse): number | undefined {
  const t = (res as TimedResponse)[TIMING];
  return t === undefined ? undefined : performance.now() - t.t0 - t.upstreamMs;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: Buffer | string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const overhead = overheadMs(res);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...(overhead === undefined ? {} : { "x-inferplane-overhead-ms": overhead.toFixed(3) }),
    ...headers,
  });
  res.end(body);
}

export function sendError(
  res: ServerResponse,
  err: InferplaneError,
  headers: Record<string, string> = {},
): void {
  sendJson(res, err.def.status, JSON.stringify(err.toOpenAI()), headers);
}

async function readCapped(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < MAX_ERROR_BODY) parts.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(parts);
}

function isTimeout(err: unknown): boolean {
  return err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError;
}

function contextLength(status: number, body: Buffer, router: Router): boolean {
  if (status !== 400) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    parsed = body.toString("utf8");
  }
  return router.isContextLengthError(status, parsed);
}

export class Forwarder {
  constructor(private readonly deps: ForwardDeps) {}

  /** Handles one request; always answers (or ends the stream), never throws. */
  async handle(
    op: ApiOp,
    body: Record<string, unknown>,
    headers: IncomingHttpHeaders,
    res: ServerResponse,
    t0: number,
  ): Promise<void> {
    const { router, metrics } = this.deps;
    const name = body.model;
    if (typeof name !== "string" || name === "") {
      sendError(res, new InferplaneError("invalid_request", "`model` is required and must be a string"));
      return;
    }
    const route = router.resolve(name);
    if (!route) {
      metrics.requests.inc({ route: "unknown", pool: "", code: "404" });
      sendError(res, new InferplaneError("model_not_found", `The model \`${name}\` does not exist.`));
      return;
    }
    const stream = body.stream === true && (op === "chat" || op === "completions");
    const key = op === "chat" || op === "completions" ? prefixKeyOf(body, op) : undefined;
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.on("close", onClose);
    const totalMs = route.timeout ?? this.deps.timeouts.total;
    const totalTimer = setTimeout(
      () => abort.abort(new InferplaneError("upstream_timeout", "total timeout")),
      totalMs,
    );
    this.deps.budget.recordRequest(Date.now());
    try {
      await this.run(op, route, body, headers, res, t0, stream, key, abort.signal);
    } finally {
      clearTimeout(totalTimer);
      res.off("close", onClose);
    }
  }

  private async run(
    op: ApiOp,
    route: RouteSpec,
    body: Record<string, unknown>,
    headers: IncomingHttpHeaders,
    res: ServerResponse,
    t0: number,
    stream: boolean,
    key: string | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const { router, pools, metrics } = this.deps;
    let chain: RouteSpec[] = [route, ...router.fallbacks(route, "retryable")];
    let last: UpstreamFailure | InferplaneError | undefined;
    let first = true;
    for (let ci = 0; ci < chain.length; ci++) {
      const r = chain[ci] as RouteSpec;
      if (ci > 0) metrics.fallbacks.inc({ route: route.name, to: r.name });
      const pool = pools.get(
        router.pickTarget(r, { user: typeof body.user === "string" ? body.user : undefined, headers }),
      );
      if (!pool) continue;
      const tried = new Set<string>();
      for (let attempt = 0; attempt <= this.deps.retries; attempt++) {
        if (signal.aborted) return this.abortReply(res, signal);
        if (!first && !this.deps.budget.tryRetry(Date.now())) break;
        if (!first) metrics.retries.inc({ route: route.name, pool: pool.info.name });
        first = false;
        let ep: EndpointState;
        try {
          ep = await pool.acquire(tried, key);
        } catch (err) {
          last = isInferplaneError(err) ? err : new InferplaneError("internal", String(err));
          break; // this pool can take nothing: next route
        }
        tried.add(ep.id);
        const outcome = await this.attempt(op, r, pool, ep, body, headers, res, t0, stream, signal);
        if (outcome.kind === "done" || outcome.kind === "aborted") return;
        last = outcome.failure;
        if (outcome.kind === "context") {
          const longer = router.fallbacks(r, "context-length");
          if (longer.length === 0) break;
          chain = [...chain.slice(0, ci + 1), ...longer];
          break;
        }
      }
    }
    if (signal.aborted) return this.abortReply(res, signal);
    this.replyFailure(res, route, last);
  }

  private abortReply(res: ServerResponse, signal: AbortSignal): void {
    const reason: unknown = signal.reason;
    if (isInferplaneError(reason)) sendError(res, reason);
    else if (!res.headersSent && !res.destroyed) res.destroy();
  }

  private replyFailure(
    res: ServerResponse,
    route: RouteSpec,
    last: UpstreamFailure | InferplaneError | undefined,
  ): void {
    const code = (status: number) =>
      this.deps.metrics.requests.inc({ route: route.name, pool: "", code: String(status) });
    if (last === undefined) {
      const err = new InferplaneError(
        "no_healthy_upstream",
        `no pool of route ${route.name} has an endpoint`,
      );
      code(err.def.status);
      sendError(res, err);
      return;
    }
    if (isInferplaneError(last)) {
      code(last.def.status);
      sendError(res, last, last.code === "pool_queue_full" ? { "retry-after": "1" } : {});
      return;
    }
    code(last.status);
    const extra: Record<string, string> = last.retryAfter ? { "retry-after": last.retryAfter } : {};
    // Relay the upstream's own error when it is JSON (OpenAI-shaped from vLLM and friends).
    const text = last.body.toString("utf8");
    if (text.startsWith("{")) {
      sendJson(res, last.status, last.body, extra);
      return;
    }
    const err = new InferplaneError(
      "upstream_error",
      `upstream answered ${last.status}: ${text.slice(0, 200)}`,
    );
    sendJson(res, last.status >= 500 ? 502 : last.status, JSON.stringify(err.toOpenAI()), extra);
  }

  private async attempt(
    op: ApiOp,
    route: RouteSpec,
    pool: UpstreamPool,
    ep: EndpointState,
    body: Record<string, unknown>,
    clientHeaders: IncomingHttpHeaders,
    res: ServerResponse,
    t0: number,
    stream: boolean,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const { metrics, timeouts } = this.deps;
    const adapter = pool.adapter;
    const path = adapter.apiPath(op);
    if (!path) {
      pool.release(ep);
      return {
        kind: "retry",
        failure: new InferplaneError(
          "invalid_request",
          `pool ${pool.info.name} (${pool.info.engine}) cannot serve ${op}`,
        ),
      };
    }
    const upstreamBody: Record<string, unknown> = { ...body, model: pool.info.upstreamModel };
    let stripUsage = false;
    if (stream) {
      const so = body.stream_options;
      const asked =
        typeof so === "object" && so !== null && (so as { include_usage?: unknown }).include_usage === true;
      if (!asked) {
        upstreamBody.stream_options = {
          ...(typeof so === "object" && so !== null ? so : {}),
          include_usage: true,
        };
        stripUsage = true;
      }
    }
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: stream ? "text/event-stream" : "application/json",
      ...adapter.requestHeaders(this.deps.env),
    };
    const traceparent = clientHeaders.traceparent;
    if (typeof traceparent === "string") headers.traceparent = traceparent;
    const labels = { route: route.name, pool: pool.info.name };
    const timing = timingOf(res);
    const tDispatch = performance.now();
    let upstreamCounted = false;
    const countUpstream = () => {
      if (!upstreamCounted) {
        upstreamCounted = true;
        timing.upstreamMs += performance.now() - tDispatch;
      }
    };
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        pool.release(ep);
      }
    };
    try {
      let resp: Awaited<ReturnType<ReturnType<UpstreamPool["dispatcher"]>["request"]>>;
      try {
        resp = await pool.dispatcher(ep).request({
          method: "POST",
          path,
          headers,
          body: JSON.stringify(upstreamBody),
          headersTimeout: timeouts.firstByte,
          bodyTimeout: timeouts.idle,
          signal,
        });
      } catch (err) {
        countUpstream();
        if (signal.aborted) return { kind: "aborted" };
        this.deps.onFailure(pool, ep);
        const failure = isTimeout(err)
          ? new InferplaneError(
              "upstream_timeout",
              `no answer from ${pool.info.name} within ${timeouts.firstByte} ms`,
            )
          : new InferplaneError(
              "upstream_error",
              `cannot reach an endpoint of ${pool.info.name}: ${(err as Error).message}`,
            );
        return { kind: "retry", failure };
      }
      const status = resp.statusCode;
      if (status >= 400) {
        const errBody = await readCapped(resp.body).catch(() => Buffer.alloc(0));
        countUpstream();
        const retryAfter = resp.headers["retry-after"];
        const failure: UpstreamFailure = {
          status,
          body: errBody,
          ...(typeof retryAfter === "string" ? { retryAfter } : {}),
        };
        if (status >= 500) this.deps.onFailure(pool, ep);
        if (status === 429 || status >= 500) return { kind: "retry", failure };
        if (contextLength(status, errBody, this.deps.router)) return { kind: "context", failure };
        metrics.requests.inc({ ...labels, code: String(status) });
        sendJson(res, status, errBody);
        return { kind: "done" };
      }
      if (!stream) {
        const parts: Buffer[] = [];
        for await (const chunk of resp.body) parts.push(chunk as Buffer);
        const payload = Buffer.concat(parts);
        countUpstream();
        this.deps.onSuccess(pool, ep);
        metrics.overhead.observe((overheadMs(res) ?? 0) / 1000);
        metrics.requests.inc({ ...labels, code: String(status) });
        metrics.duration.observe(labels, (performance.now() - t0) / 1000);
        sendJson(res, status, payload);
        return { kind: "done" };
      }
      return await this.relayStream(
        resp.body,
        res,
        pool,
        ep,
        t0,
        tDispatch - timing.upstreamMs,
        stripUsage,
        labels,
        signal,
      );
    } finally {
      countUpstream();
      release();
    }
  }

  private async relayStream(
    upstream: AsyncIterable<unknown>,
    res: ServerResponse,
    pool: UpstreamPool,
    ep: EndpointState,
    t0: number,
    gatewayUntil: number,
    stripUsage: boolean,
    labels: { route: string; pool: string },
    signal: AbortSignal,
  ): Promise<Outcome> {
    const { metrics } = this.deps;
    const relay = new SseRelay(stripUsage);
    let started = false;
    try {
      for await (const chunk of upstream) {
        const text = relay.push(chunk as Buffer);
        if (text === "") continue;
        if (!started) {
          started = true;
          const firstByte = performance.now();
          // Gateway time so far: until this attempt was dispatched, earlier attempts' upstream time excluded.
          const overhead = gatewayUntil - t0;
          metrics.overhead.observe(overhead / 1000);
          metrics.ttft.observe(labels, (firstByte - t0) / 1000);
          res.writeHead(200, {
            "content-type": "text/event-stream",
            "cache-control": "no-cache",
            connection: "keep-alive",
            "x-inferplane-overhead-ms": overhead.toFixed(3),
          });
        }
        if (!res.write(text)) await waitDrain(res, signal);
      }
    } catch (err) {
      if (signal.aborted && !isInferplaneError(signal.reason)) return { kind: "aborted" };
      this.deps.onFailure(pool, ep);
      if (!started) {
        return {
          kind: "retry",
          failure: new InferplaneError(
            "upstream_error",
            `stream from ${pool.info.name} failed before its first event: ${(err as Error).message}`,
          ),
        };
      }
      metrics.requests.inc({ ...labels, code: "502" });
      res.end(sseError(`the upstream stream failed: ${(err as Error).message}`));
      return { kind: "done" };
    }
    const rest = relay.flush();
    if (!started) {
      this.deps.onFailure(pool, ep);
      return {
        kind: "retry",
        failure: new InferplaneError("upstream_error", `empty stream from ${pool.info.name}`),
      };
    }
    if (!relay.done) {
      this.deps.onFailure(pool, ep);
      metrics.requests.inc({ ...labels, code: "502" });
      res.end(rest + sseError("the upstream ended the stream before [DONE]"));
      return { kind: "done" };
    }
    this.deps.onSuccess(pool, ep);
    metrics.requests.inc({ ...labels, code: "200" });
    metrics.duration.observe(labels, (performance.now() - t0) / 1000);
    res.end(rest);
    return { kind: "done" };
  }
}

function waitDrain(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
    signal.addEventListener("abort", done, { once: true });
  });
}
