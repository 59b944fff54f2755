/**
 * The gateway's Prometheus metrics (docs/metrics.md lists each). The latency and token
 * histograms carry the OpenTelemetry GenAI names and labels (see src/telemetry/metrics.ts);
 * everything only a gateway has (overhead, retries, ejections, balancer decisions) is
 * `inferplane_gateway_*`. Labels stay low-cardinality: route and pool names from the spec,
 * status codes, endpoints of a pool; never users, keys or prompts.
 *
 * The request path never calls `labels()`: children are cached per route and pool (prom-client
 * hashes label values on every call, a measurable cost per request).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import {
  ChildCache,
  GENAI_TOKEN_BUCKETS,
  GENAI_TPOT_BUCKETS,
  GENAI_TTFT_BUCKETS,
} from "../telemetry/metrics.js";
import type { EndpointState } from "./types.js";
import type { UpstreamPool } from "./upstream/pool.js";

// Sub-millisecond buckets: the overhead target is 0.5 ms at p50.
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1];
// GenAI's advised request-duration boundaries start at 10 ms; ours add the long tail of streams.
const DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84,
];

/** `gen_ai.operation.name` per API operation (semconv: chat, text_completion, embeddings; rerank is ours). */
export const GENAI_OPERATION = {
  chat: "chat",
  completions: "text_completion",
  embeddings: "embeddings",
  rerank: "rerank",
} as const;
export type GenAiOperation = (typeof GENAI_OPERATION)[keyof typeof GENAI_OPERATION];

type CounterChild = ReturnType<Counter<string>["labels"]>;
type HistogramChild = ReturnType<Histogram<string>["labels"]>;

/** Per (route, pool, operation) children, created on first use. */
export interface RequestSeries {
  duration: HistogramChild;
  ttft: HistogramChild;
  tpot: HistogramChild;
  inputTokens: HistogramChild;
  outputTokens: HistogramChild;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "inferplane_gateway_requests_total",
    help: "Requests answered, by route, pool and HTTP status (499: the client went away; pool is empty when no pool answered).",
    labelNames: ["route", "pool", "code"] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: "gen_ai_server_request_duration_seconds",
    help: "GenAI server request duration: request arrival to the last byte sent (OpenTelemetry gen_ai.server.request.duration).",
    labelNames: ["gen_ai_operation_name", "gen_ai_request_model", "pool"] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly ttft = new Histogram({
    name: "gen_ai_server_time_to_first_token_seconds",
    help: "Time to first token: request arrival to the first streamed event relayed (OpenTelemetry gen_ai.server.time_to_first_token).",
    labelNames: ["gen_ai_operation_name", "gen_ai_request_model", "pool"] as const,
    buckets: GENAI_TTFT_BUCKETS,
    registers: [this.registry],
  });
  readonly tpot = new Histogram({
    name: "gen_ai_server_time_per_output_token_seconds",
    help: "Inter-token latency: a stream's time after its first token divided by the tokens after the first (OpenTelemetry gen_ai.server.time_per_output_token).",
    labelNames: ["gen_ai_operation_name", "gen_ai_request_model", "pool"] as const,
    buckets: GENAI_TPOT_BUCKETS,
    registers: [this.registry],
  });
  readonly tokens = new Histogram({
    name: "gen_ai_client_token_usage",
    help: "Tokens per request as the engine reported them, by gen_ai_token_type input (prompt) or output (completion) (OpenTelemetry gen_ai.client.token.usage).",
    labelNames: ["gen_ai_operation_name", "gen_ai_request_model", "pool", "gen_ai_token_type"] as const,
    buckets: GENAI_TOKEN_BUCKETS,
    registers: [this.registry],
  });
  readonly overhead = new Histogram({
    name: "inferplane_gateway_overhead_seconds",
    help: "Time spent in the gateway itself, upstream time excluded (also the x-inferplane-overhead-ms header).",
    buckets: OVERHEAD_BUCKETS,
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: "inferplane_gateway_retries_total",
    help: "Retries on another endpoint, before any byte reached the client.",
    labelNames: ["route", "pool"] as const,
    registers: [this.registry],
  });
  readonly fallbacks = new Counter({
    name: "inferplane_gateway_fallbacks_total",
    help: "Requests sent on to a fallback route.",
    labelNames: ["route", "to"] as const,
    registers: [this.registry],
  });
  readonly ejections = new Counter({
    name: "inferplane_gateway_ejections_total",
    help: "Endpoints ejected by outlier detection.",
    labelNames: ["pool"] as const,
    registers: [this.registry],
  });
  readonly balancerFallbacks = new Counter({
    name: "inferplane_gateway_balancer_fallbacks_total",
    help: "Picks where the balancer could not apply its policy and failed open (reason: stale-metrics, load-bound, no-key).",
    labelNames: ["pool", "reason"] as const,
    registers: [this.registry],
  });
  readonly picks = new Counter({
    name: "inferplane_gateway_balancer_picks_total",
    help: "Balancer decisions: attempts sent to each endpoint of a pool.",
    labelNames: ["pool", "endpoint"] as const,
    registers: [this.registry],
  });
  readonly queued = new Counter({
    name: "inferplane_gateway_queued_total",
    help: "Requests that waited in a pool's queue because every endpoint was at its in-flight cap.",
    labelNames: ["pool"] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: "inferplane_gateway_rate_limited_total",
    help: "Requests the gateway itself refused with 429 (reason: queue when a pool's queue is full or the wait too long; the key policy adds its own reasons).",
    labelNames: ["route", "reason"] as const,
    registers: [this.registry],
  });
  private readonly series = new ChildCache<Map<GenAiOperation, RequestSeries>>(() => new Map());
  private readonly codes = new ChildCache<Map<number, CounterChild>>(() => new Map());
  private readonly pickChildren = new WeakMap<EndpointState, CounterChild>();

  /** The cached request series of one route, pool and operation. */
  seriesFor(route: string, pool: string, op: GenAiOperation): RequestSeries {
    const byOp = this.series.get(route, pool);
    let s = byOp.get(op);
    if (!s) {
      const l = { gen_ai_operation_name: op, gen_ai_request_model: route, pool };
      s = {
        duration: this.duration.labels(l),
        ttft: this.ttft.labels(l),
        tpot: this.tpot.labels(l),
        inputTokens: this.tokens.labels({ ...l, gen_ai_token_type: "input" }),
        outputTokens: this.tokens.labels({ ...l, gen_ai_token_type: "output" }),
      };
      byOp.set(op, s);
    }
    return s;
  }

  /** Counts one answered request. */
  countRequest(route: string, pool: string, code: number): void {
    this.requestChild(route, pool, code).inc();
  }

  /**
   * Every route's "no pool could answer" series, declared at zero: a series born at its first
   * value shows no increase to rate(), so the first requests to a model at zero replicas would
   * never reach the scale-from-zero activation query (src/deploy/autoscaling.ts) without it.
   */
  declareRoutes(routes: Iterable<string>): void {
    for (const route of routes) this.requestChild(route, "", 503).inc(0); // prom-client exposes a child once incremented
  }

  private requestChild(route: string, pool: string, code: number): CounterChild {
    const byCode = this.codes.get(route, pool);
    let c = byCode.get(code);
    if (!c) {
      c = this.requests.labels({ route, pool, code: String(code) });
      byCode.set(code, c);
    }
    return c;
  }

  /** Counts one balancer decision. */
  countPick(ep: EndpointState): void {
    let c = this.pickChildren.get(ep);
    if (!c) {
      c = this.picks.labels({ pool: ep.pool, endpoint: ep.url });
      this.pickChildren.set(ep, c);
    }
    c.inc();
  }

  constructor(pools: () => Iterable<UpstreamPool>) {
    const registers = [this.registry];
    new Gauge({
      name: "inferplane_gateway_endpoint_in_flight",
      help: "Requests in flight per endpoint.",
      labelNames: ["pool", "endpoint"] as const,
      registers,
      collect() {
        this.reset();
        for (const p of pools())
          for (const e of p.endpoints) this.set({ pool: p.info.name, endpoint: e.url }, e.inFlight);
      },
    });
    new Gauge({
      name: "inferplane_gateway_endpoint_up",
      help: "1 when the endpoint is healthy and not ejected.",
      labelNames: ["pool", "endpoint"] as const,
      registers,
      collect() {
        this.reset();
        const now = performance.now();
        for (const p of pools()) {
          for (const e of p.endpoints)
            this.set({ pool: p.info.name, endpoint: e.url }, e.healthy && e.ejectedUntil <= now ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: "inferplane_gateway_pool_queued",
      help: "Requests waiting for a free endpoint, per pool.",
      labelNames: ["pool"] as const,
      registers,
      collect() {
        this.reset();
        for (const p of pools()) this.set({ pool: p.info.name }, p.queued);
      },
    });
  }
}
