/**
 * A `ConsoleSource` over the gateway's current runtime: its pools, spec and metrics, and what
 * the reload path reports (when the spec was loaded, the last reload it refused).
 */
import type { Platform } from "../../spec/schema.js";
import type { GatewayMetrics } from "../metrics.js";
import type { EndpointState } from "../types.js";
import type { UpstreamPool } from "../upstream/pool.js";
import { planPage, publicUrl, readBench, redactSpec } from "./reports.js";
import type { ConsoleSource, EndpointView, PoolView, RouteView, SpecView } from "./source.js";
import { type Buckets, type RouteTotals, TrafficWindow } from "./traffic.js";

export interface PoolSourceInput {
  spec: () => Platform;
  /** When the spec in force was loaded (ms since the epoch). */
  loadedAt: () => number;
  /** The last reload the gateway refused, with its error (no secret values in it). */
  lastRejected?: () => SpecView["lastRejectedReload"];
  /** The pools of the runtime in force (a reload swaps them). */
  pools: () => ReadonlyMap<string, UpstreamPool>;
  /** Pools whose endpoints are simulated replicas (`inferplane up`). */
  simulated: ReadonlySet<string>;
  env: NodeJS.ProcessEnv;
  /** The gateway's metrics, read for per-route traffic; without them no traffic is shown. */
  metrics?: GatewayMetrics;
}

type HistogramValues = Awaited<ReturnType<GatewayMetrics["ttft"]["get"]>>["values"];

function addBuckets(into: Map<string, Map<number, number>>, values: HistogramValues) {
  for (const v of values) {
    if (!v.metricName?.endsWith("_bucket")) continue;
    const route = String(v.labels.gen_ai_request_model ?? "");
    const bound = (v.labels as Record<string, string | number | undefined>).le; // bucket series carry `le`
    const le = bound === "+Inf" ? Number.POSITIVE_INFINITY : Number(bound);
    const m = into.get(route) ?? new Map<number, number>();
    m.set(le, (m.get(le) ?? 0) + v.value);
    into.set(route, m);
  }
}

const sorted = (m: Map<number, number> | undefined): Buckets =>
  [...(m ?? new Map<number, number>())].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);

/** Cumulative per-route totals from the gateway's counters and histograms (summed over pools and operations). */
export async function readTotals(metrics: GatewayMetrics): Promise<Map<string, RouteTotals>> {
  const out = new Map<string, RouteTotals>();
  const totals = (route: string) => {
    let t = out.get(route);
    if (!t) {
      t = { requests: 0, errors: 0, ttft: [], itl: [] };
      out.set(route, t);
    }
    return t;
  };
  for (const v of (await metrics.requests.get()).values) {
    const t = totals(String(v.labels.route ?? ""));
    t.requests += v.value;
    if (Number(v.labels.code) >= 400) t.errors += v.value;
  }
  const ttft = new Map<string, Map<number, number>>();
  const itl = new Map<string, Map<number, number>>();
  addBuckets(ttft, (await metrics.ttft.get()).values);
  addBuckets(itl, (await metrics.tpot.get()).values);
  for (const route of new Set([...ttft.keys(), ...itl.keys()])) {
    const t = totals(route);
    t.ttft = sorted(ttft.get(route));
    t.itl = sorted(itl.get(route));
  }
  return out;
}

export function endpointView(ep: EndpointState, nowPerf: number, nowEpoch: number, simulated: boolean) {
  const ejected = ep.ejectedUntil > nowPerf;
  const view: EndpointView = {
    url: publicUrl(ep.url),
    health: !ep.healthy ? "unhealthy" : ejected ? "ejected" : "healthy",
    inFlight: ep.inFlight,
    kind: simulated ? "simulated" : "real",
  };
  if (!ep.healthy) view.reason = "health check failing";
  else if (ejected) {
    view.reason = `ejected by outlier detection after ${ep.consecutiveFailures} consecutive failures (ejection ${ep.ejections})`;
    view.ejectedUntil = new Date(nowEpoch + (ep.ejectedUntil - nowPerf)).toISOString();
  }
  if (ep.load) {
    view.waiting = ep.load.waiting;
    view.running = ep.load.running;
    if (ep.load.kvUsage !== undefined) view.kvUsage = ep.load.kvUsage;
  }
  return view;
}

export function poolSource(input: PoolSourceInput): ConsoleSource {
  // A sample at most every 5 s, while someone has the console open; 5 minutes of history.
  const recent = new TrafficWindow(60_000, 5_000, 300_000);
  return {
    adminToken() {
      const auth = input.spec().gateway.auth;
      if (auth.mode !== "keys") return undefined;
      return input.env[auth.adminTokenEnv] ?? null;
    },
    async state() {
      const at = performance.now();
      if (input.metrics && recent.due(at)) {
        recent.add({ at, epoch: Date.now(), routes: await readTotals(input.metrics) });
      }
      const spec = input.spec();
      const nowPerf = performance.now();
      const nowEpoch = Date.now();
      const pools: PoolView[] = [...input.pools().values()].map((p) => ({
        name: p.info.name,
        engine: p.info.engine,
        queued: p.queued,
        endpoints: p.endpoints.map((ep) =>
          endpointView(ep, nowPerf, nowEpoch, input.simulated.has(p.info.name)),
        ),
      }));
      const routes: RouteView[] = spec.routes.map((r) => ({
        name: r.name,
        aliases: r.aliases,
        balancer: r.balancer,
        targets: r.targets.map((t) => ({ pool: t.model, weight: t.weight })),
        fallbacks: r.fallbacks,
      }));
      for (const r of routes) {
        const traffic = recent.traffic(r.name);
        if (traffic) r.traffic = traffic;
        const series = recent.series(r.name);
        if (series.length > 0) r.series = series;
      }
      const specView: SpecView = {
        name: spec.metadata.name,
        loadedAt: new Date(input.loadedAt()).toISOString(),
      };
      const rejected = input.lastRejected?.();
      if (rejected) specView.lastRejectedReload = rejected;
      return { authMode: spec.gateway.auth.mode, spec: specView, routes, pools };
    },
    specDocument: () => redactSpec(input.spec()),
    planHtml: () => planPage(input.spec()),
    bench: () => readBench(input.env),
  };
}
