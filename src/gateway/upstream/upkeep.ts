/**
 * Keeps every pool's endpoints fit to serve: outlier detection on request outcomes, active
 * health checks that mark endpoints down and bring ejected ones back, and — for pools balanced
 * on engine load — metrics scraping. Follows the pools across spec reloads.
 */
import type { GatewaySpec } from "../../spec/schema.js";
import type { EndpointState } from "../types.js";
import { HealthChecker } from "./health.js";
import { LoadScraper } from "./load-scraper.js";
import { recordFailure, recordSuccess } from "./outlier.js";
import type { UpstreamPool } from "./pool.js";

const HEALTH_TIMEOUT_FLOOR_MS = 1_000;

type Log = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

interface Watchers {
  pool: UpstreamPool;
  health: HealthChecker;
  scraper: LoadScraper | undefined;
  key: string;
  intervalMs: number;
}

export class EndpointUpkeep {
  private readonly watchers = new Map<string, Watchers>();
  private running = false;
  /** Called when outlier detection ejects an endpoint (metrics). */
  onEject: ((pool: UpstreamPool, ep: EndpointState) => void) | undefined;

  constructor(
    private readonly pools: () => Iterable<UpstreamPool>,
    private readonly gateway: () => GatewaySpec,
    private readonly log: Log,
  ) {}

  success(_pool: UpstreamPool, ep: EndpointState): void {
    recordSuccess(ep);
  }

  failure(pool: UpstreamPool, ep: EndpointState): void {
    if (recordFailure(ep, pool.endpoints, performance.now(), this.gateway().outlierDetection)) {
      this.log("warn", "endpoint ejected", {
        pool: pool.info.name,
        endpoint: ep.url,
        ejections: ep.ejections,
      });
      this.onEject?.(pool, ep);
    }
  }

  start(): void {
    this.running = true;
    this.sync();
  }

  /** Creates, replaces or stops watchers to match the current pools (after a reload). */
  sync(): void {
    if (!this.running) return;
    const od = this.gateway().outlierDetection;
    const live = new Set<string>();
    for (const pool of this.pools()) {
      const name = pool.info.name;
      live.add(name);
      const key = `${pool.adapter.id}@${pool.adapter.version}|${pool.balancer.name}|${od.interval}`;
      const existing = this.watchers.get(name);
      if (existing && existing.key === key && existing.pool === pool) continue;
      if (existing) this.stopOne(existing);
      const health = new HealthChecker({
        adapter: pool.adapter,
        endpoints: () => pool.endpoints,
        intervalMs: od.interval,
        // A check is a liveness probe, not a latency test: on a busy machine (or a busy
        // engine) a short interval must not turn slow answers into "down" (a refused
        // connection still fails at once).
        timeoutMs: Math.max(HEALTH_TIMEOUT_FLOOR_MS, Math.min(2_000, od.interval)),
        onChange: (ep, event) => {
          this.log(event === "unhealthy" ? "warn" : "info", `endpoint ${event}`, {
            pool: name,
            endpoint: ep.url,
          });
          pool.poke();
        },
      });
      const scraper =
        pool.balancer.name === "load-aware" && pool.adapter.metricsPath !== undefined
          ? new LoadScraper({ adapter: pool.adapter, endpoints: () => pool.endpoints })
          : undefined;
      health.start();
      scraper?.start();
      this.watchers.set(name, { pool, health, scraper, key, intervalMs: od.interval });
    }
    for (const [name, w] of this.watchers) {
      if (!live.has(name)) {
        this.stopOne(w);
        this.watchers.delete(name);
      }
    }
  }

  /** Pools watched now and their health-check interval, ms. */
  watching(): { pool: UpstreamPool; intervalMs: number }[] {
    return [...this.watchers.values()].map((w) => ({ pool: w.pool, intervalMs: w.intervalMs }));
  }

  private stopOne(w: Watchers): void {
    void w.health.close();
    void w.scraper?.close();
  }

  stop(): void {
    this.running = false;
    for (const w of this.watchers.values()) this.stopOne(w);
    this.watchers.clear();
  }
}
