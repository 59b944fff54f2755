/**
 * The gateway's basic Prometheus metrics (the Observability issue extends them). Labels stay
 * low-cardinality: route, pool, status code; endpoints only in the per-endpoint gauges.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { UpstreamPool } from "./upstream/pool.js";

// Sub-millisecond buckets: the overhead target is 0.5 ms at p50.
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1];
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "inferplane_gateway_requests_total",
    help: "Requests answered, by route, pool and HTTP status.",
    labelNames: ["route", "pool", "code"] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: "inferplane_gateway_request_duration_seconds",
    help: "Time from request arrival to the last byte sent.",
    labelNames: ["route", "pool"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly ttft = new Histogram({
    name: "inferplane_gateway_time_to_first_token_seconds",
    help: "Time from request arrival to the first streamed event relayed.",
    labelNames: ["route", "pool"] as const,
    buckets: LATENCY_BUCKETS,
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
