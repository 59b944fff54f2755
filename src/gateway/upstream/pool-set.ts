/**
 * The live pools behind the runtimes: `apply(plan)` creates, reconfigures or closes pools to
 * match a derived plan and keeps each pool's endpoint source (static list or discovery) in step.
 * Endpoints that stay keep their live state across reloads. The promise it returns covers only
 * the discoveries it started, so nothing accumulates across reloads.
 */
import { adapterForPool } from "../../engines/index.js";
import { createBalancer } from "../routing/balancers/index.js";
import type { PoolPlan, RuntimePlan } from "../runtime.js";
import { createDiscovery, type Discovery } from "./discovery/index.js";
import { UpstreamPool } from "./pool.js";

type Log = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

export interface PoolSetHooks {
  log: Log;
  onBalancerFallback?(pool: string, reason: string): void;
  onQueued?(pool: string): void;
}

export class PoolSet {
  private readonly pools = new Map<string, UpstreamPool>();
  private readonly discoveries = new Map<string, { key: string; discovery: Discovery }>();

  constructor(private readonly hooks: PoolSetHooks) {}

  /** Matches the pools to the plan; resolves when the discoveries it started did their first lookup. */
  apply(plan: RuntimePlan): { pools: ReadonlyMap<string, UpstreamPool>; firstLookups: Promise<void> } {
    const started: Promise<void>[] = [];
    const seen = new Set<string>();
    for (const p of plan.pools) {
      seen.add(p.info.name);
      const pool = this.upsert(p);
      const lookup = this.source(p, pool);
      if (lookup) started.push(lookup);
    }
    for (const [name, pool] of this.pools) {
      if (seen.has(name)) continue;
      this.pools.delete(name);
      this.stopDiscovery(name);
      void pool.close(); // in-flight requests on it finish first
    }
    return { pools: new Map(this.pools), firstLookups: Promise.all(started).then(() => {}) };
  }

  private upsert(p: PoolPlan): UpstreamPool {
    const name = p.info.name;
    const adapter = adapterForPool(p.info);
    const balancer = createBalancer(p.balancer);
    const existing = this.pools.get(name);
    const pool = existing ?? new UpstreamPool(p.info, balancer, adapter, p.limits);
    if (existing) existing.reconfigure(p.info, balancer, adapter, p.limits);
    pool.onBalancerFallback = (reason) => this.hooks.onBalancerFallback?.(name, reason);
    pool.onQueued = () => this.hooks.onQueued?.(name);
    this.pools.set(name, pool);
    return pool;
  }

  private source(p: PoolPlan, pool: UpstreamPool): Promise<void> | undefined {
    const name = p.info.name;
    const existing = this.discoveries.get(name);
    if (existing && existing.key === p.sourceKey) return undefined;
    this.stopDiscovery(name);
    if (p.source.kind === "static") {
      pool.setEndpoints(p.source.urls);
      return undefined;
    }
    const onError = (err: Error) =>
      this.hooks.log("warn", "endpoint discovery failed; keeping the last endpoints", {
        pool: name,
        error: err.message,
      });
    const discovery = createDiscovery({ ...p.source, onError });
    this.discoveries.set(name, { key: p.sourceKey, discovery });
    return discovery.start((urls) => {
      pool.setEndpoints(urls);
      this.hooks.log("info", "endpoints changed", { pool: name, endpoints: urls.length });
    });
  }

  private stopDiscovery(name: string): void {
    this.discoveries.get(name)?.discovery.stop();
    this.discoveries.delete(name);
  }

  /** Running discoveries (tests: one per discovered pool, whatever the number of reloads). */
  get discoveryCount(): number {
    return this.discoveries.size;
  }

  async close(): Promise<void> {
    for (const name of [...this.discoveries.keys()]) this.stopDiscovery(name);
    await Promise.all([...this.pools.values()].map((p) => p.close()));
  }
}
