/**
 * Shared vocabulary of the gateway (Envoy's): a route (public model name) sends traffic to
 * pools (one served model each); a pool's balancer picks an endpoint (one replica URL).
 * The router decides which pool; the balancer decides which endpoint. They never mix.
 */
import type { EndpointLoad } from "../engines/load.js";
import type { BALANCERS } from "../spec/schema.js";

export type { EndpointLoad } from "../engines/load.js";
export type { PoolInfo } from "../engines/pool-info.js";

/** One replica of a pool, with the live state the balancers read. */
export interface EndpointState {
  /** Stable id: the base URL. */
  readonly id: string;
  /** Base URL of the replica, without the engine's API path (`http://10.0.0.7:8000`). */
  readonly url: string;
  readonly pool: string;
  /** Requests this gateway has in flight to the endpoint. */
  inFlight: number;
  /**
   * Of those, the ones without their first token yet (a stream's first token, a one-shot's
   * answer): queued or in prefill at the engine. Fresh, unlike scraped metrics.
   */
  awaitingFirstToken: number;
  /** Active health check result (true until a check says otherwise). */
  healthy: boolean;
  /** Ejected by outlier detection until this time (ms, performance.now()); 0 when not ejected. */
  ejectedUntil: number;
  /** Times ejected so far; the next ejection lasts base × (ejections + 1), capped. */
  ejections: number;
  /** Failures in a row (5xx, connect errors, timeouts). */
  consecutiveFailures: number;
  /** Last load sample, if the pool scrapes metrics. */
  load?: EndpointLoad;
}

/** What a balancer may use to pick. */
export interface PickContext {
  /** Every endpoint of the pool (also unavailable ones): hash rings stay stable across ejections. */
  all: readonly EndpointState[];
  /** The start of the prompt (system prompt and first messages), for prefix affinity. */
  prefixKey?: string;
  /** Current time, ms (performance.now() clock). */
  now: number;
}

export interface Pick {
  endpoint: EndpointState;
  /** Set when the balancer could not use its policy and fell back (e.g. stale metrics → least-request). */
  fallback?: "stale-metrics" | "load-bound" | "no-key";
}

/**
 * A balancing policy: only the picking differs between policies (undici's pattern: the pool
 * owns lifecycle, queueing and draining). `candidates` are the endpoints that may take a
 * request now (healthy, not ejected, under their in-flight cap, not already tried), never empty.
 */
export interface Balancer {
  readonly name: BalancerName;
  pick(candidates: readonly EndpointState[], ctx: PickContext): Pick;
}

/** A balancer's name: the spec's `BALANCERS` list is the one source. */
export type BalancerName = (typeof BALANCERS)[number];

/** Creates a new endpoint state with nothing known yet. */
export function newEndpoint(pool: string, url: string): EndpointState {
  const base = url.replace(/\/+$/, "");
  return {
    id: base,
    url: base,
    pool,
    inFlight: 0,
    awaitingFirstToken: 0,
    healthy: true,
    ejectedUntil: 0,
    ejections: 0,
    consecutiveFailures: 0,
  };
}
