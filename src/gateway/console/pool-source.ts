/**
 * A `ConsoleSource` over the gateway's current runtime (its pools and spec). A stopgap the
 * runtime's own source replaces: per-route traffic and rejected reloads are not measured here.
 */
import type { Platform } from "../../spec/schema.js";
import type { EndpointState } from "../types.js";
import type { UpstreamPool } from "../upstream/pool.js";
import type { ConsoleSource, EndpointView, PoolView, RouteView } from "./source.js";

export interface PoolSourceInput {
  spec: () => Platform;
  /** When the spec in force was loaded (ms since the epoch). */
  loadedAt: () => number;
  pools: ReadonlyMap<string, UpstreamPool>;
  /** Pools whose endpoints are simulated replicas (`inferplane up`). */
  simulated: ReadonlySet<string>;
  env: NodeJS.ProcessEnv;
}

/** Never show credentials embedded in an endpoint URL. */
export function publicUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url.replace(/\/\/[^/@]*@/, "//");
  }
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
  return {
    adminToken() {
      const auth = input.spec().gateway.auth;
      if (auth.mode !== "keys") return undefined;
      return input.env[auth.adminTokenEnv] ?? null;
    },
    state() {
      const spec = input.spec();
      const nowPerf = performance.now();
      const nowEpoch = Date.now();
      const pools: PoolView[] = [...input.pools.values()].map((p) => ({
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
      return {
        authMode: spec.gateway.auth.mode,
        spec: { name: spec.metadata.name, loadedAt: new Date(input.loadedAt()).toISOString() },
        routes,
        pools,
      };
    },
  };
}
