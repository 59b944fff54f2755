/**
 * Per-route traffic over a sliding window, computed from the gateway's own Prometheus counters
 * and histograms (requests by code, TTFT, time per output token). Samples are taken only when
 * the console asks for its state, so nothing is added to the request path and nothing runs
 * while nobody has the console open.
 */
import type { Percentiles, RouteTraffic, TrafficPoint } from "./source.js";

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
  /** ms since the epoch, for the time axis. */
  epoch: number;
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

/** Rounded for the wire: the console draws these, it does not need 15 digits. */
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function scaled(p: Percentiles | undefined): Percentiles | undefined {
  return p && { p50: r3(p.p50), p95: r3(p.p95), p99: r3(p.p99) };
}

/** What happened between two samples of one route. */
function between(now: RouteTotals, then: RouteTotals | undefined, seconds: number): RouteTraffic {
  const requests = now.requests - (then?.requests ?? 0);
  const errors = now.errors - (then?.errors ?? 0);
  const out: RouteTraffic = {
    windowSeconds: Math.round(seconds),
    requestsPerSecond: r3(requests / seconds),
    errorRate: requests > 0 ? r3(errors / requests) : 0,
  };
  const ttft = scaled(percentiles(delta(now.ttft, then?.ttft), 1000));
  const itl = scaled(percentiles(delta(now.itl, then?.itl), 1000));
  if (ttft) out.ttftMs = ttft;
  if (itl) out.itlMs = itl;
  return out;
}

/**
 * Keeps samples over `historyMs` (at least `minGapMs` apart) and answers each route's traffic
 * over the last `windowMs`, and its history as one point per interval between samples.
 */
export class TrafficWindow {
  private samples: TrafficSample[] = [];

  constructor(
    private readonly windowMs = 60_000,
    /** Samples closer together than this are not kept (several open consoles poll at once). */
    private readonly minGapMs = 1_000,
    private readonly historyMs = windowMs,
  ) {}

  add(sample: TrafficSample): void {
    const last = this.samples.at(-1);
    if (last && sample.at - last.at < this.minGapMs) return;
    this.samples.push(sample);
    // Keep one sample at or before the history's start, so it is covered in full.
    const keep = Math.max(this.windowMs, this.historyMs);
    while (this.samples.length > 2 && (this.samples[1] as TrafficSample).at <= sample.at - keep) {
      this.samples.shift();
    }
  }

  /** Whether a sample is due (callers skip reading the metrics otherwise). */
  due(now: number): boolean {
    const last = this.samples.at(-1);
    return !last || now - last.at >= this.minGapMs;
  }

  traffic(route: string): RouteTraffic | undefined {
    const last = this.samples.at(-1);
    if (!last) return undefined;
    // The newest sample at or before the window's start; the oldest one when none is that old.
    let first = this.samples[0] as TrafficSample;
    for (const s of this.samples) if (s.at <= last.at - this.windowMs) first = s;
    if (last === first) return undefined;
    const now = last.routes.get(route);
    if (!now) return undefined;
    return between(now, first.routes.get(route), (last.at - first.at) / 1000);
  }

  /** One point per interval between consecutive samples, oldest first, `at` being the interval's end. */
  series(route: string): TrafficPoint[] {
    const out: TrafficPoint[] = [];
    for (let i = 1; i < this.samples.length; i++) {
      const a = this.samples[i - 1] as TrafficSample;
      const b = this.samples[i] as TrafficSample;
      const now = b.routes.get(route);
      if (!now) continue;
      const { windowSeconds: _w, ...figures } = between(now, a.routes.get(route), (b.at - a.at) / 1000);
      out.push({ at: new Date(b.epoch).toISOString(), ...figures });
    }
    return out;
  }
}
