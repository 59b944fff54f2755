/**
 * Forwarding one API request: route → pool → endpoint, with retries on another endpoint and
 * fallback routes, all strictly before the first byte reaches the client. After that a failure
 * ends the stream with an SSE error event, never a silent truncation.
 */
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { errors as undiciErrors } from "undici";
import { InferplaneError, isInferplaneError } from "../../errors.js";
import type { RouteSpec } from "../../spec/schema.js";
import type { Logger } from "../../telemetry/logger.js";
import {
  type Context,
  contextWith,
  extractContext,
  recordError,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracing,
  traceparentOf,
} from "../../telemetry/tracing.js";
import { type GatewayMetrics, GENAI_OPERATION } from "../metrics.js";
import { prefixKey as prefixKeyOf } from "../routing/prefix-key.js";
import type { Router } from "../routing/router.js";
import type { EndpointState } from "../types.js";
import type { UpstreamPool } from "../upstream/pool.js";
import { Cancel } from "./cancel.js";
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
  /** Request spans and one child per upstream attempt; absent or off: no tracing cost. */
  tracing?: Tracing;
  /** One JSON line per request; absent: no access log. */
  accessLog?: Logger;
  /** Policy accounting (src/gateway/policy): once per request, the pool that answered and its tokens (-1: unknown). */
  onUsage?(
    res: ServerResponse,
    u: { pool: string; status: number; inputTokens: number; outputTokens: number },
  ): void;
}

type AttemptKind = "first" | "retry" | "fallback";

/**
 * What one request did, filled in as it goes and recorded once when it ends: the request
 * counter, latency and token histograms, the request span's attributes and the access line.
 */
class Exchange {
  /** Route label: the route whose pool answered (a fallback's), else the one asked for. */
  route = "unknown";
  /** Pool label: the pool whose answer was relayed; empty when none answered. */
  pool = "";
  /** Last endpoint tried (access log, span). */
  endpoint: EndpointState | undefined = undefined;
  /** Status recorded for the request when it differs from the HTTP status (502 after a failed stream). */
  status = 0;
  stream = false;
  inputTokens = -1;
  outputTokens = -1;
  firstTokenAt = 0;
  overheadMs = -1;
  attempts = 0;
  attemptKind: AttemptKind = "first";
  responseModel: string | undefined = undefined;
  span: Span | undefined = undefined;
  ctx: Context | undefined = undefined;
  attemptSpan: Span | undefined = undefined;
  upstreamStatus = 0;
  constructor(
    readonly op: ApiOp,
    readonly t0: number,
  ) {}
}

const hostPorts = new WeakMap<EndpointState, { address: string; port: number }>();
function hostPort(ep: EndpointState): { address: string; port: number } {
  let hp = hostPorts.get(ep);
  if (!hp) {
    const u = new URL(ep.url);
    hp = {
      address: u.hostname.replace(/^\[|\]$/g, ""),
      port: Number(u.port) || (u.protocol === "https:" ? 443 : 80),
    };
    hostPorts.set(ep, hp);
  }
  return hp;
}

/** Tokens (and the model) from a non-streamed answer, without parsing the whole body. */
function scanUsage(payload: Buffer, ex: Exchange, wantModel: boolean): void {
  const at = payload.lastIndexOf('"usage"');
  if (at >= 0) {
    const text = payload.toString("utf8", at, Math.min(payload.length, at + 512));
    const p = /"prompt_tokens"\s*:\s*(\d+)/.exec(text);
    const c = /"completion_tokens"\s*:\s*(\d+)/.exec(text);
    if (p) ex.inputTokens = Number(p[1]);
    if (c) ex.outputTokens = Number(c[1]);
  }
  if (wantModel) {
    const m = payload.indexOf('"model"');
    if (m >= 0) {
      const r = /^"model"\s*:\s*"([^"]{1,256})"/.exec(
        payload.toString("utf8", m, Math.min(payload.length, m + 300)),
      );
      if (r) ex.responseModel = r[1];
    }
  }
}

/** The trace id of a W3C traceparent header (access log when tracing is off). */
function traceIdOf(traceparent: string | string[] | undefined): string | undefined {
  return typeof traceparent === "string" && traceparent.length >= 55 && traceparent[2] === "-"
    ? traceparent.slice(3, 35)
    : undefined;
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
    const ex = new Exchange(op, t0);
    try {
      await this.handleRequest(ex, op, body, headers, res, t0);
    } finally {
      this.finish(ex, res, headers);
    }
  }

  private async handleRequest(
    ex: Exchange,
    op: ApiOp,
    body: Record<string, unknown>,
    headers: IncomingHttpHeaders,
    res: ServerResponse,
    t0: number,
  ): Promise<void> {
    const { router } = this.deps;
    const name = body.model;
    if (typeof name !== "string" || name === "") {
      sendError(res, new InferplaneError("invalid_request", "`model` is required and must be a string"));
      return;
    }
    const route = router.resolve(name);
    if (!route) {
      sendError(res, new InferplaneError("model_not_found", `The model \`${name}\` does not exist.`));
      return;
    }
    ex.route = route.name;
    const stream = body.stream === true && (op === "chat" || op === "completions");
    ex.stream = stream;
    const tracer = this.deps.tracing?.tracer;
    if (tracer) {
      const opName = GENAI_OPERATION[op];
      // Span name per the GenAI conventions: "{gen_ai.operation.name} {gen_ai.request.model}".
      ex.span = tracer.startSpan(
        `${opName} ${name}`,
        {
          kind: SpanKind.SERVER,
          startTime: t0,
          attributes: {
            "gen_ai.operation.name": opName,
            "gen_ai.request.model": name,
            "inferplane.route": route.name,
            "inferplane.stream": stream,
            ...(typeof body.max_tokens === "number" ? { "gen_ai.request.max_tokens": body.max_tokens } : {}),
          },
        },
        extractContext(headers),
      );
      ex.ctx = contextWith(ex.span);
    }
    const key = op === "chat" || op === "completions" ? prefixKeyOf(body, op) : undefined;
    const abort = new Cancel();
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
      await this.run(ex, op, route, body, headers, res, t0, stream, key, abort);
    } finally {
      clearTimeout(totalTimer);
      res.off("close", onClose);
    }
  }

  /** Records the finished request: metrics, span, access line. Never throws. */
  private finish(ex: Exchange, res: ServerResponse, headers: IncomingHttpHeaders): void {
    const { metrics } = this.deps;
    const end = performance.now();
    const status = ex.status || (res.headersSent ? res.statusCode : 499);
    this.deps.onUsage?.(res, {
      pool: ex.pool,
      status,
      inputTokens: ex.inputTokens,
      outputTokens: ex.outputTokens,
    });
    metrics.countRequest(ex.route, ex.pool, status);
    if (ex.pool !== "") {
      const s = metrics.seriesFor(ex.route, ex.pool, GENAI_OPERATION[ex.op]);
      s.duration.observe((end - ex.t0) / 1000);
      if (ex.inputTokens >= 0) s.inputTokens.observe(ex.inputTokens);
      if (ex.outputTokens >= 0) s.outputTokens.observe(ex.outputTokens);
      if (ex.firstTokenAt > 0 && ex.outputTokens > 1)
        s.tpot.observe((end - ex.firstTokenAt) / 1000 / (ex.outputTokens - 1));
    }
    const overhead = ex.overheadMs >= 0 ? ex.overheadMs : (overheadMs(res) ?? 0);
    const span = ex.span;
    if (span) {
      const ep = ex.endpoint;
      if (ep) {
        const hp = hostPort(ep);
        span.setAttribute("server.address", hp.address);
        span.setAttribute("server.port", hp.port);
      }
      if (ex.pool !== "") span.setAttribute("inferplane.pool", ex.pool);
      span.setAttribute("gen_ai.response.model", ex.responseModel ?? "");
      if (ex.inputTokens >= 0) span.setAttribute("gen_ai.usage.input_tokens", ex.inputTokens);
      if (ex.outputTokens >= 0) span.setAttribute("gen_ai.usage.output_tokens", ex.outputTokens);
      span.setAttribute("http.response.status_code", status);
      span.setAttribute("inferplane.attempts", ex.attempts);
      span.setAttribute("inferplane.overhead_ms", overhead);
      if (ex.firstTokenAt > 0) span.setAttribute("inferplane.ttft_ms", ex.firstTokenAt - ex.t0);
      if (status >= 500 || status === 499 || status === 429) {
        span.setAttribute("error.type", String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end(end);
    }
    const log = this.deps.accessLog;
    if (log) {
      log.info(
        {
          trace_id: span ? span.spanContext().traceId : traceIdOf(headers.traceparent),
          op: ex.op,
          route: ex.route,
          pool: ex.pool,
          endpoint: ex.endpoint?.url ?? "",
          status,
          stream: ex.stream,
          input_tokens: ex.inputTokens >= 0 ? ex.inputTokens : null,
          output_tokens: ex.outputTokens >= 0 ? ex.outputTokens : null,
          latency_ms: Math.round((end - ex.t0) * 1000) / 1000,
          ttft_ms: ex.firstTokenAt > 0 ? Math.round((ex.firstTokenAt - ex.t0) * 1000) / 1000 : null,
          overhead_ms: Math.round(overhead * 1000) / 1000,
          attempts: ex.attempts,
        },
        "request",
      );
    }
  }

  /** Ends the current attempt's span with what the attempt came to. */
  private endAttempt(ex: Exchange, outcome: Outcome): void {
    const span = ex.attemptSpan;
    if (!span) return;
    ex.attemptSpan = undefined;
    if (ex.upstreamStatus > 0) span.setAttribute("http.response.status_code", ex.upstreamStatus);
    if (outcome.kind === "retry" || outcome.kind === "context") {
      const f = outcome.failure;
      if (isInferplaneError(f)) recordError(span, f, f.code);
      else {
        span.setAttribute("error.type", String(f.status));
        span.setStatus({ code: SpanStatusCode.ERROR, message: `upstream answered ${f.status}` });
      }
    } else if (outcome.kind === "aborted") {
      span.setAttribute("error.type", "aborted");
      span.setStatus({ code: SpanStatusCode.ERROR, message: "aborted" });
    }
    span.end();
  }

  private async run(
    ex: Exchange,
    op: ApiOp,
    route: RouteSpec,
    body: Record<string, unknown>,
    headers: IncomingHttpHeaders,
    res: ServerResponse,
    t0: number,
    stream: boolean,
    key: string | undefined,
    signal: Cancel,
  ): Promise<void> {
    const { router, pools, metrics } = this.deps;
    let chain: RouteSpec[] = [route, ...router.fallbacks(route, "retryable")];
    let last: UpstreamFailure | InferplaneError | undefined;
    let first = true;
    for (let ci = 0; ci < chain.length; ci++) {
      const r = chain[ci] as RouteSpec;
      if (ci > 0) {
        metrics.fallbacks.inc({ route: route.name, to: r.name });
        ex.span?.addEvent("fallback", { "inferplane.route": r.name });
      }
      const pool = pools.get(
        router.pickTarget(r, { user: typeof body.user === "string" ? body.user : undefined, headers }),
      );
      if (!pool) continue;
      const tried = new Set<string>();
      for (let attempt = 0; attempt <= this.deps.retries; attempt++) {
        if (signal.aborted) return this.abortReply(res, signal);
        if (!first && !this.deps.budget.tryRetry(Date.now())) break;
        if (!first) metrics.retries.inc({ route: route.name, pool: pool.info.name });
        ex.attemptKind = first ? "first" : ci > 0 && attempt === 0 ? "fallback" : "retry";
        first = false;
        let ep: EndpointState;
        try {
          ep = await pool.acquire(tried, key);
        } catch (err) {
          last = isInferplaneError(err) ? err : new InferplaneError("internal", String(err));
          break; // this pool can take nothing: next route
        }
        tried.add(ep.id);
        metrics.countPick(ep);
        ex.endpoint = ep;
        ex.attempts++;
        const outcome = await this.attempt(ex, op, r, pool, ep, body, headers, res, t0, stream, signal);
        this.endAttempt(ex, outcome);
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
    ex.route = route.name;
    this.replyFailure(res, route, last);
  }

  private abortReply(res: ServerResponse, signal: Cancel): void {
    const reason: unknown = signal.reason;
    if (isInferplaneError(reason)) sendError(res, reason);
    else if (!res.headersSent && !res.destroyed) res.destroy();
  }

  private replyFailure(
    res: ServerResponse,
    route: RouteSpec,
    last: UpstreamFailure | InferplaneError | undefined,
  ): void {
    if (last === undefined) {
      const err = new InferplaneError(
        "no_healthy_upstream",
        `no pool of route ${route.name} has an endpoint`,
      );
      sendError(res, err);
      return;
    }
    if (isInferplaneError(last)) {
      if (last.code === "pool_queue_full")
        this.deps.metrics.rateLimited.inc({ route: route.name, reason: "queue" });
      sendError(res, last, last.code === "pool_queue_full" ? { "retry-after": "1" } : {});
      return;
    }
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
    ex: Exchange,
    op: ApiOp,
    route: RouteSpec,
    pool: UpstreamPool,
    ep: EndpointState,
    body: Record<string, unknown>,
    clientHeaders: IncomingHttpHeaders,
    res: ServerResponse,
    t0: number,
    stream: boolean,
    signal: Cancel,
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
    const tracer = ex.span ? this.deps.tracing?.tracer : undefined;
    if (tracer) {
      const hp = hostPort(ep);
      const opName = GENAI_OPERATION[op];
      const span = tracer.startSpan(
        `${opName} ${pool.info.upstreamModel}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            "gen_ai.operation.name": opName,
            "gen_ai.request.model": pool.info.upstreamModel,
            "server.address": hp.address,
            "server.port": hp.port,
            "inferplane.pool": pool.info.name,
            "inferplane.route": route.name,
            "inferplane.attempt": ex.attempts,
            "inferplane.attempt.kind": ex.attemptKind,
          },
        },
        ex.ctx,
      );
      ex.attemptSpan = span;
      headers.traceparent = traceparentOf(span);
    } else {
      const traceparent = clientHeaders.traceparent;
      if (typeof traceparent === "string") headers.traceparent = traceparent;
    }
    ex.upstreamStatus = 0;
    // Balancers weigh requests still awaiting their first token (queued or in prefill).
    ep.awaitingFirstToken++;
    let awaiting = true;
    const firstToken = () => {
      if (awaiting) {
        awaiting = false;
        ep.awaitingFirstToken--;
      }
    };
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
      ex.upstreamStatus = status;
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
        ex.route = route.name;
        ex.pool = pool.info.name;
        sendJson(res, status, errBody);
        return { kind: "done" };
      }
      if (!stream) {
        const parts: Buffer[] = [];
        for await (const chunk of resp.body) parts.push(chunk as Buffer);
        const payload = Buffer.concat(parts);
        countUpstream();
        this.deps.onSuccess(pool, ep);
        ex.overheadMs = overheadMs(res) ?? 0;
        metrics.overhead.observe(ex.overheadMs / 1000);
        ex.route = route.name;
        ex.pool = pool.info.name;
        scanUsage(payload, ex, ex.span !== undefined);
        sendJson(res, status, payload);
        return { kind: "done" };
      }
      return await this.relayStream(
        ex,
        resp.body,
        res,
        pool,
        ep,
        t0,
        tDispatch - timing.upstreamMs,
        stripUsage,
        route.name,
        signal,
        firstToken,
      );
    } finally {
      firstToken();
      countUpstream();
      release();
    }
  }

  private async relayStream(
    ex: Exchange,
    upstream: AsyncIterable<unknown>,
    res: ServerResponse,
    pool: UpstreamPool,
    ep: EndpointState,
    t0: number,
    gatewayUntil: number,
    stripUsage: boolean,
    routeName: string,
    signal: Cancel,
    onFirstToken: () => void,
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
          // Gateway time so far: until this attempt was dispatched, earlier attempts' upstream time excluded.
          const overhead = gatewayUntil - t0;
          ex.overheadMs = overhead;
          ex.route = routeName;
          ex.pool = pool.info.name;
          metrics.overhead.observe(overhead / 1000);
          res.writeHead(200, {
            "content-type": "text/event-stream",
            "cache-control": "no-cache",
            connection: "keep-alive",
            "x-inferplane-overhead-ms": overhead.toFixed(3),
          });
        }
        if (relay.sawToken) onFirstToken();
        if (ex.firstTokenAt === 0 && relay.sawToken) {
          ex.firstTokenAt = performance.now();
          metrics
            .seriesFor(routeName, pool.info.name, GENAI_OPERATION[ex.op])
            .ttft.observe((ex.firstTokenAt - t0) / 1000);
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
      ex.status = 502;
      takeUsage(ex, relay);
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
      ex.status = 502;
      takeUsage(ex, relay);
      res.end(rest + sseError("the upstream ended the stream before [DONE]"));
      return { kind: "done" };
    }
    this.deps.onSuccess(pool, ep);
    takeUsage(ex, relay);
    res.end(rest);
    return { kind: "done" };
  }
}

function takeUsage(ex: Exchange, relay: SseRelay): void {
  const u = relay.usage;
  if (u) {
    if (typeof u.prompt_tokens === "number") ex.inputTokens = u.prompt_tokens;
    if (typeof u.completion_tokens === "number") ex.outputTokens = u.completion_tokens;
  }
  if (relay.model !== undefined) ex.responseModel = relay.model;
}

function waitDrain(res: ServerResponse, signal: Cancel): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      signal.off("abort", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
    signal.once("abort", done);
  });
}
