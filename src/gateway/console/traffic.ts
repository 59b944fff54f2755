/**
 * Per-route traffic over a sliding window, computed from the gateway's own Prometheus counters
 * and histograms (requests by code, TTFT, time per output token). Samples are taken only when
 * the console asks for its state, so nothing is added to the request path and nothing runs
 * while nobody has the console open.
 */
import type { Percentiles, RouteTraffic } from "./source.js";

/** A cumulative histogram: `le` upper bounds ascending (the last may be +Inf) with counts. */
export type Buckets = { le: number; count: number }[];

/** Cumulative totals of one route at one instant. */
export interface RouteTotals {
  requests: number;
  errors: number;
  ttft: Buckets;
  itl: Buckets;
}

export interface TrafficSample {
  /** ms, any monotonic clock. */
  at: number;
  routes: Map<string, RouteTotals>;
}

/**
 * Prometheus's `histogram_quantile`: linear interpolation inside the bucket holding the rank;
 * the +Inf bucket answers its lower bound. Undefined with no observations.
 */
export function histogramQuantile(q: number, buckets: Buckets): number | undefined {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket <= 0 ? b.le : prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

function delta(a: Buckets, b: Buckets | undefined): Buckets {
  const before = new Map((b ?? []).map((x) => [x.le, x.count]));
  return a.map((x) => ({ le: x.le, count: Math.max(0, x.count - (before.get(x.le) ?? 0)) }));
}

function percentiles(buckets: Buckets, scale: number): Percentiles | undefined {
  const p = (q: number) => histogramQuantile(q, buckets);
  const [p50, p95, p99] = [p(0.5), p(0.95), p(0.99)];
  if (p50 === undefined || p95 === undefined || p99 === undefined) return undefined;
  return { p50: p50 * scale, p95: p95 * scale, p99: p99 * scale };
}

/** Keeps samples over `windowMs` and answers each route's traffic between the oldest and newest. */
export class TrafficWindow {
  private samples: TrafficSample[] = [];

  constructor(
    private readonly windowMs = 60_000,
    /** Samples closer together than this are not kept (several open consoles poll at once). */
    private readonly minGapMs = 1_000,
  ) {}

  add(sample: TrafficSample): void {
    const last = this.samples.at(-1);
    if (last && sample.at - last.at < this.minGapMs) return;
    this.samples.push(sample);
    // Keep one sample at or before the window's start, so the window is covered in full.
    while (this.samples.length > 2 && (this.samples[1] as TrafficSample).at <= sample.at - this.windowMs) {
      this.samples.shift();
    }
  }

  /** Whether a sample is due (callers skip reading the metrics otherwise). */
  due(now: number): boolean {
    const last = this.samples.at(-1);
    return !last || now - last.at >= this.minGapMs;
  }

  traffic(route: string): RouteTraffic | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last === first) return undefined;
    const now = last.routes.get(route);
    if (!now) return undefined;
    const then = first.routes.get(route);
    const seconds = (last.at - first.at) / 1000;
    const requests = now.requests - (then?.requests ?? 0);
    const errors = now.errors - (then?.errors ?? 0);
    const out: RouteTraffic = {
      windowSeconds: Math.round(seconds),
      requestsPerSecond: requests / seconds,
      errorRate: requests > 0 ? errors / requests : 0,
    };
    const ttft = percentiles(delta(now.ttft, then?.ttft), 1000);
    const itl = percentiles(delta(now.itl, then?.itl), 1000);
    if (ttft) out.ttftMs = ttft;
    if (itl) out.itlMs = itl;
    return out;
  }
}
