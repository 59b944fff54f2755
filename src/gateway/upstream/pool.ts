/**
 * A pool of endpoints serving one model: owns their live state, one keep-alive undici pool per
 * endpoint, the per-endpoint in-flight cap and a bounded wait queue (undici's pattern: the pool
 * owns lifecycle, queueing and draining; the balancer only picks).
 */
import { Pool as UndiciPool } from "undici";
import type { EngineAdapter } from "../../engines/adapter.js";
import { InferplaneError } from "../../errors.js";
import type { Balancer, EndpointState, PoolInfo } from "../types.js";
import { newEndpoint } from "../types.js";
import { H1Client } from "./h1-client.js";

export interface PoolLimits {
  /** Requests in flight per endpoint before new ones wait (vLLM batches; beyond it they queue anyway). */
  maxInFlightPerEndpoint: number;
  /** Requests that may wait for a free endpoint before the pool answers 429. */
  maxQueued: number;
  /** Longest wait in the queue, ms (then 429). */
  maxQueueWaitMs: number;
  /** TCP connect timeout, ms. */
  connectTimeoutMs: number;
  /** Keep-alive connections per endpoint. */
  connections: number;
}

export const DEFAULT_LIMITS: PoolLimits = {
  maxInFlightPerEndpoint: 512,
  maxQueued: 1024,
  maxQueueWaitMs: 30_000,
  connectTimeoutMs: 2_000,
  connections: 128,
};

interface Waiter {
  resolve: (ep: EndpointState) => void;
  reject: (err: unknown) => void;
  exclude: ReadonlySet<string>;
  prefixKey: string | undefined;
  timer: NodeJS.Timeout;
}

export class UpstreamPool {
  info: PoolInfo;
  balancer: Balancer;
  adapter: EngineAdapter;
  limits: PoolLimits;
  private eps: EndpointState[] = [];
  private readonly dispatchers = new Map<string, UndiciPool>();
  private readonly streamClients = new Map<string, H1Client>();
  private readonly waiters: Waiter[] = [];

  constructor(
    info: PoolInfo,
    balancer: Balancer,
    adapter: EngineAdapter,
    limits: PoolLimits = DEFAULT_LIMITS,
  ) {
    this.info = info;
    this.balancer = balancer;
    this.adapter = adapter;
    this.limits = limits;
  }

  /** A reloaded spec: endpoints and their state stay; the policy may change. */
  reconfigure(info: PoolInfo, balancer: Balancer, adapter: EngineAdapter, limits: PoolLimits): void {
    this.info = info;
    if (balancer.name !== this.balancer.name) this.balancer = balancer;
    this.adapter = adapter;
    this.limits = limits;
  }

  get endpoints(): readonly EndpointState[] {
    return this.eps;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /** Replaces the endpoint set; endpoints that stay keep their state, removed ones close when idle. */
  setEndpoints(urls: readonly string[]): void {
    const keep = new Map(this.eps.map((e) => [e.id, e]));
    const next: EndpointState[] = [];
    for (const url of new Set(urls.map((u) => u.replace(/\/+$/, "")))) {
      next.push(keep.get(url) ?? newEndpoint(this.info.name, url));
      keep.delete(url);
    }
    this.eps = next;
    for (const gone of keep.values()) {
      const d = this.dispatchers.get(gone.id);
      this.dispatchers.delete(gone.id);
      void d?.close(); // waits for its in-flight requests
      void this.streamClients.get(gone.id)?.close(); // in-flight streams end first
      this.streamClients.delete(gone.id);
    }
    this.wake();
  }

  /** The keep-alive connection pool of an endpoint. */
  dispatcher(ep: EndpointState): UndiciPool {
    let d = this.dispatchers.get(ep.id);
    if (!d) {
      d = new UndiciPool(ep.url, {
        connections: this.limits.connections,
        connect: { timeout: this.limits.connectTimeoutMs },
        keepAliveTimeout: 30_000,
        pipelining: 1,
      });
      this.dispatchers.set(ep.id, d);
    }
    return d;
  }

  /** The client for streamed answers of a plain-http endpoint (h1-client.ts); undefined: use undici. */
  streamClient(ep: EndpointState): H1Client | undefined {
    let c = this.streamClients.get(ep.id);
    if (!c && ep.url.startsWith("http:")) {
      c = new H1Client(ep.url, {
        connections: this.limits.connections,
        connectTimeout: this.limits.connectTimeoutMs,
      });
      this.streamClients.set(ep.id, c);
    }
    return c;
  }

  /** Endpoints that can serve at all now (healthy and not ejected). */
  available(now: number): EndpointState[] {
    return this.eps.filter((e) => e.healthy && e.ejectedUntil <= now);
  }

  private candidates(exclude: ReadonlySet<string>, now: number): EndpointState[] {
    const cap = this.limits.maxInFlightPerEndpoint;
    return this.eps.filter(
      (e) => e.healthy && e.ejectedUntil <= now && e.inFlight < cap && !exclude.has(e.id),
    );
  }

  /**
   * An endpoint for one attempt, counted in flight until `release`. Waits in the bounded queue
   * when every eligible endpoint is at its cap; throws `no_healthy_upstream` when none is
   * eligible at all, `pool_queue_full` when the queue is full or the wait too long.
   */
  acquire(
    exclude: ReadonlySet<string>,
    prefixKey: string | undefined,
    now = performance.now(),
  ): Promise<EndpointState> {
    const ep = this.tryPick(exclude, prefixKey, now) ?? this.panicPick(exclude, prefixKey, now);
    if (ep) return Promise.resolve(ep);
    const eligible = this.eps.some((e) => e.healthy && e.ejectedUntil <= now && !exclude.has(e.id));
    if (!eligible) {
      return Promise.reject(
        new InferplaneError("no_healthy_upstream", `no healthy endpoint left in pool ${this.info.name}`),
      );
    }
    if (this.waiters.length >= this.limits.maxQueued) {
      return Promise.reject(this.queueFull());
    }
    this.onQueued?.();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        exclude,
        prefixKey,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(this.queueFull());
        }, this.limits.maxQueueWaitMs),
      };
      this.waiters.push(waiter);
    });
  }

  private queueFull(): InferplaneError {
    return new InferplaneError(
      "pool_queue_full",
      `pool ${this.info.name} is at capacity (${this.eps.length} endpoints × ${this.limits.maxInFlightPerEndpoint} in flight, ${this.limits.maxQueued} queued)`,
    );
  }

  private tryPick(
    exclude: ReadonlySet<string>,
    prefixKey: string | undefined,
    now: number,
  ): EndpointState | undefined {
    const candidates = this.candidates(exclude, now);
    if (candidates.length === 0) return undefined;
    const pick = this.balancer.pick(candidates, { all: this.eps, now, ...(prefixKey ? { prefixKey } : {}) });
    if (pick.fallback) this.onBalancerFallback?.(pick.fallback);
    pick.endpoint.inFlight++;
    return pick.endpoint;
  }

  /**
   * Envoy's panic routing, at its floor: when health checks and ejections have taken every
   * endpoint of the pool out of service, their verdicts are no longer believed (a loaded
   * machine, a checker that timed out) and the request goes to an endpoint it has not tried.
   */
  private panicPick(
    exclude: ReadonlySet<string>,
    prefixKey: string | undefined,
    now: number,
  ): EndpointState | undefined {
    if (this.eps.length === 0 || this.eps.some((e) => e.healthy && e.ejectedUntil <= now)) return undefined;
    const cap = this.limits.maxInFlightPerEndpoint;
    const candidates = this.eps.filter((e) => e.inFlight < cap && !exclude.has(e.id));
    if (candidates.length === 0) return undefined;
    const pick = this.balancer.pick(candidates, { all: this.eps, now, ...(prefixKey ? { prefixKey } : {}) });
    this.onPanic?.();
    pick.endpoint.inFlight++;
    return pick.endpoint;
  }

  /** Told when a request went to an endpoint out of service because the whole pool was (a metric). */
  onPanic: (() => void) | undefined;
  /** Told when the balancer could not apply its policy (a metric). */
  onBalancerFallback: ((reason: string) => void) | undefined;
  /** Told when a request has to wait in the queue (a metric). */
  onQueued: (() => void) | undefined;

  release(ep: EndpointState): void {
    ep.inFlight = Math.max(0, ep.inFlight - 1);
    this.wake();
  }

  /** Hands freed capacity to queued requests, oldest first. */
  private wake(): void {
    const now = performance.now();
    while (this.waiters.length > 0) {
      const w = this.waiters[0] as Waiter;
      const ep = this.tryPick(w.exclude, w.prefixKey, now);
      if (!ep) {
        const eligible = this.eps.some((e) => e.healthy && e.ejectedUntil <= now && !w.exclude.has(e.id));
        if (eligible) return;
        this.waiters.shift();
        clearTimeout(w.timer);
        w.reject(
          new InferplaneError("no_healthy_upstream", `no healthy endpoint left in pool ${this.info.name}`),
        );
        continue;
      }
      this.waiters.shift();
      clearTimeout(w.timer);
      w.resolve(ep);
    }
  }

  /** Re-examines the queue after health or ejection changes. */
  poke(): void {
    this.wake();
  }

  async close(): Promise<void> {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new InferplaneError("shutting_down", "the gateway is shutting down"));
    }
    await Promise.all([
      ...[...this.dispatchers.values()].map((d) => d.close()),
      ...[...this.streamClients.values()].map((c) => c.close()),
    ]);
    this.dispatchers.clear();
    this.streamClients.clear();
  }
}
