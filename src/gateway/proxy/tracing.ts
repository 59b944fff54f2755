/**
 * Tracing as two wrappers: a SERVER span per request (GenAI semantic conventions) and a CLIENT
 * span per upstream attempt, whose context travels upstream in `traceparent`. Without tracing the
 * client's own `traceparent` is passed through and nothing else is done.
 */
import { isInferplaneError } from "../../errors.js";
import {
  contextWith,
  extractContext,
  recordError,
  SpanKind,
  SpanStatusCode,
  type Tracing,
  traceparentOf,
} from "../../telemetry/tracing.js";
import { GENAI_OPERATION } from "../metrics.js";
import type { EndpointState } from "../types.js";
import type { Exchange } from "./exchange.js";
import type { AttemptLayer, AttemptResult, Layer } from "./layers.js";

const hostPorts = new WeakMap<EndpointState, { address: string; port: number }>();
export function hostPort(ep: EndpointState): { address: string; port: number } {
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

/** The request span, started before the dispatch and ended by the accounting (with the outcome). */
export function requestSpan(tracing: Tracing | undefined): Layer {
  const tracer = tracing?.tracer;
  return (next) =>
    tracer
      ? (ex) => {
          const opName = GENAI_OPERATION[ex.op];
          const max = ex.body.max_tokens;
          // Span name per the GenAI conventions: "{gen_ai.operation.name} {gen_ai.request.model}".
          ex.span = tracer.startSpan(
            `${opName} ${ex.askedModel}`,
            {
              kind: SpanKind.SERVER,
              startTime: ex.t0,
              attributes: {
                "gen_ai.operation.name": opName,
                "gen_ai.request.model": ex.askedModel,
                "inferplane.route": ex.route?.name ?? "",
                "inferplane.stream": ex.stream,
                ...(typeof max === "number" ? { "gen_ai.request.max_tokens": max } : {}),
              },
            },
            extractContext(ex.headers),
          );
          ex.ctx = contextWith(ex.span);
          return next(ex);
        }
      : next;
}

/** Ends the request span with what the exchange came to (called once, by the accounting). */
export function endRequestSpan(ex: Exchange, status: number, overheadMs: number, end: number): void {
  const span = ex.span;
  if (!span) return;
  if (ex.endpoint) {
    const hp = hostPort(ex.endpoint);
    span.setAttribute("server.address", hp.address);
    span.setAttribute("server.port", hp.port);
  }
  if (ex.pool !== "") span.setAttribute("inferplane.pool", ex.pool);
  span.setAttribute("gen_ai.response.model", ex.responseModel ?? "");
  if (ex.inputTokens >= 0) span.setAttribute("gen_ai.usage.input_tokens", ex.inputTokens);
  if (ex.outputTokens >= 0) span.setAttribute("gen_ai.usage.output_tokens", ex.outputTokens);
  span.setAttribute("http.response.status_code", status);
  span.setAttribute("inferplane.attempts", ex.attempts);
  span.setAttribute("inferplane.overhead_ms", overheadMs);
  if (ex.firstTokenAt > 0) span.setAttribute("inferplane.ttft_ms", ex.firstTokenAt - ex.t0);
  if (status >= 500 || status === 499 || status === 429) {
    span.setAttribute("error.type", String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end(end);
}

/** A CLIENT span per attempt when the request is traced; else the client's traceparent, as is. */
export function attemptSpan(tracing: Tracing | undefined): AttemptLayer {
  const tracer = tracing?.tracer;
  const passThrough: AttemptLayer = (next) => (ex, a) => {
    const tp = ex.headers.traceparent;
    ex.traceparent = typeof tp === "string" ? tp : undefined;
    return next(ex, a);
  };
  if (!tracer) return passThrough;
  return (next) => async (ex, a) => {
    if (!ex.span) return passThrough(next)(ex, a);
    const hp = hostPort(a.ep);
    const opName = GENAI_OPERATION[ex.op];
    const model = a.pool.info.upstreamModel;
    const span = tracer.startSpan(
      `${opName} ${model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "gen_ai.operation.name": opName,
          "gen_ai.request.model": model,
          "server.address": hp.address,
          "server.port": hp.port,
          "inferplane.pool": a.pool.info.name,
          "inferplane.route": a.route.name,
          "inferplane.attempt": ex.attempts,
          "inferplane.attempt.kind": a.kind,
        },
      },
      ex.ctx,
    );
    ex.attemptSpan = span;
    ex.traceparent = traceparentOf(span);
    let r: AttemptResult = { kind: "aborted" };
    try {
      r = await next(ex, a);
      return r;
    } finally {
      endAttemptSpan(ex, r);
    }
  };
}

function endAttemptSpan(ex: Exchange, r: AttemptResult): void {
  const span = ex.attemptSpan;
  if (!span) return;
  ex.attemptSpan = undefined;
  if (ex.upstreamStatus > 0) span.setAttribute("http.response.status_code", ex.upstreamStatus);
  if (r.kind === "failed") {
    const f = r.failure;
    if (f.kind !== "answer") recordError(span, f.error, isInferplaneError(f.error) ? f.error.code : "error");
    else {
      span.setAttribute("error.type", String(f.answer.status));
      span.setStatus({ code: SpanStatusCode.ERROR, message: `upstream answered ${f.answer.status}` });
    }
  } else if (r.kind === "aborted") {
    span.setAttribute("error.type", "aborted");
    span.setStatus({ code: SpanStatusCode.ERROR, message: "aborted" });
  }
  span.end();
}
