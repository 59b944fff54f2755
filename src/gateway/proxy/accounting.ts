/**
 * The outermost layer: once the exchange is over, whatever happened, record it once — policy
 * usage (limits, budgets), the request counter and GenAI histograms, the request span and one
 * access-log line.
 */
import type { ServerResponse } from "node:http";
import type { Logger } from "../../telemetry/logger.js";
import { type GatewayMetrics, GENAI_OPERATION } from "../metrics.js";
import { writeAccessLine } from "./access-line.js";
import type { Exchange } from "./exchange.js";
import type { Layer } from "./layers.js";
import { endRequestSpan } from "./tracing.js";

export interface UsageReport {
  pool: string;
  status: number;
  inputTokens: number;
  outputTokens: number;
}

export interface AccountingDeps {
  metrics: GatewayMetrics;
  /** One JSON line per request; absent: no access log. */
  accessLog?: Logger;
  /** Policy accounting: once per request, the pool that answered and its tokens (-1: unknown). */
  onUsage?(res: ServerResponse, u: UsageReport): void;
}

/** The status the request is recorded with (499: the client went away before an answer). */
export function finalStatus(ex: Exchange): number {
  return ex.status || (ex.res.headersSent ? ex.res.statusCode : 499);
}

export function accounting(deps: AccountingDeps): Layer {
  return (next) => async (ex) => {
    try {
      await next(ex);
    } finally {
      record(deps, ex);
    }
  };
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function record(deps: AccountingDeps, ex: Exchange): void {
  const end = performance.now();
  const status = finalStatus(ex);
  deps.onUsage?.(ex.res, {
    pool: ex.pool,
    status,
    inputTokens: ex.inputTokens,
    outputTokens: ex.outputTokens,
  });
  deps.metrics.countRequest(ex.routeLabel, ex.pool, status);
  if (ex.pool !== "") {
    const s = deps.metrics.seriesFor(ex.routeLabel, ex.pool, GENAI_OPERATION[ex.op]);
    s.duration.observe((end - ex.t0) / 1000);
    if (ex.inputTokens >= 0) s.inputTokens.observe(ex.inputTokens);
    if (ex.outputTokens >= 0) s.outputTokens.observe(ex.outputTokens);
    if (ex.firstTokenAt > 0 && ex.outputTokens > 1)
      s.tpot.observe((end - ex.firstTokenAt) / 1000 / (ex.outputTokens - 1));
  }
  const overhead = ex.overheadMs >= 0 ? ex.overheadMs : ex.overheadNow();
  endRequestSpan(ex, status, overhead, end);
  const log = deps.accessLog;
  if (log === undefined) return;
  writeAccessLine(
    log,
    {
      request_id: ex.requestId,
      trace_id: ex.span ? ex.span.spanContext().traceId : traceIdOf(ex.headers.traceparent),
      op: ex.op,
      route: ex.routeLabel,
      // The pool that answered, else the last one tried; null when the request reached none.
      pool: ex.pool || ex.lastPool || null,
      endpoint: ex.endpoint?.url ?? "",
      status,
      stream: ex.stream,
      input_tokens: ex.inputTokens >= 0 ? ex.inputTokens : null,
      output_tokens: ex.outputTokens >= 0 ? ex.outputTokens : null,
      ...(ex.usageEstimated ? { usage_estimated: true } : {}),
      latency_ms: round3(end - ex.t0),
      ttft_ms: ex.firstTokenAt > 0 ? round3(ex.firstTokenAt - ex.t0) : null,
      overhead_ms: round3(overhead),
      attempts: ex.attempts,
    },
    "request",
  );
}

/** The trace id of a W3C traceparent header (access log when tracing is off). */
function traceIdOf(traceparent: string | string[] | undefined): string | undefined {
  return typeof traceparent === "string" && traceparent.length >= 55 && traceparent[2] === "-"
    ? traceparent.slice(3, 35)
    : undefined;
}
