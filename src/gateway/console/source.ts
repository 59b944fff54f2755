/**
 * What the console shows, and the one interface it reads it through. The console never reaches
 * into the gateway's runtime: whoever mounts it hands over a `ConsoleSource`, so the view stays
 * the same when the runtime behind it is recomposed.
 */

/** `healthy`: serving; `unhealthy`: the active health check fails; `ejected`: outlier detection took it out. */
export type EndpointHealth = "healthy" | "unhealthy" | "ejected";

export interface EndpointView {
  /** Base URL of the replica, without credentials. */
  url: string;
  health: EndpointHealth;
  /** Why it does not serve, when it does not (`health check failing`, `5 consecutive failures`). */
  reason?: string;
  /** Ejected until (ISO time), when ejected. */
  ejectedUntil?: string;
  /** Requests this gateway has in flight to it. */
  inFlight: number;
  /** Requests the engine reports waiting in its queue, when it reports load. */
  waiting?: number;
  /** Requests the engine reports running, when it reports load. */
  running?: number;
  /** KV-cache usage 0–1, when the engine reports it. */
  kvUsage?: number;
  /** Prefix-cache hit rate 0–1, when the engine reports it. */
  prefixHitRate?: number;
  /** Whether a simulated replica (`inferplane up`) or a real engine answers here. */
  kind: "simulated" | "real";
}

export interface PoolView {
  /** `models[].name`. */
  name: string;
  engine: string;
  /** Requests waiting in the gateway's own queue for a free endpoint. */
  queued: number;
  endpoints: EndpointView[];
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** Traffic of one route over a short sliding window. */
export interface RouteTraffic {
  windowSeconds: number;
  requestsPerSecond: number;
  /** Share of requests answered with an error, 0–1. */
  errorRate: number;
  /** Time to first token, ms; absent with no streamed request in the window. */
  ttftMs?: Percentiles;
  /** Inter-token latency, ms. */
  itlMs?: Percentiles;
}

/** One interval of a route's recent history (the charts). */
export interface TrafficPoint {
  /** End of the interval (ISO time). */
  at: string;
  requestsPerSecond: number;
  errorRate: number;
  ttftMs?: Percentiles;
  itlMs?: Percentiles;
}

export interface RouteView {
  name: string;
  aliases: string[];
  balancer: string;
  targets: { pool: string; weight: number }[];
  fallbacks: string[];
  /** Absent while the runtime does not measure per-route traffic. */
  traffic?: RouteTraffic;
  /** The last minutes, one point per sample interval, oldest first. */
  series?: TrafficPoint[];
}

export interface SpecView {
  /** `metadata.name`. */
  name: string;
  /** When the spec in force was loaded (ISO time). */
  loadedAt: string;
  /** The last reload that was refused, with its error; absent when none was. */
  lastRejectedReload?: { at: string; error: string };
}

export interface ConsoleState {
  generatedAt: string;
  /** `keys`: the admin API (/admin/keys) is there for the keys view. */
  authMode: "none" | "keys";
  spec: SpecView;
  routes: RouteView[];
  pools: PoolView[];
}

/** The `bench --sweep` results the console shows: the table and its chart. */
export interface BenchView {
  /** Where they were read from (`$INFERPLANE_CONSOLE_BENCH`). */
  file: string;
  startedAt: string;
  workload: string;
  header: string[];
  rows: string[][];
  /** The latency–throughput chart (src/bench/svg.ts), as an SVG document. */
  svg: string;
}

export interface ConsoleSource {
  /**
   * The state now, without `generatedAt`. Called on every poll of every open console: cheap,
   * and nothing may be computed ahead of it on the request path.
   */
  state(): Omit<ConsoleState, "generatedAt"> | Promise<Omit<ConsoleState, "generatedAt">>;
  /**
   * The admin token the console's JSON needs, read at each request (the spec may be reloaded):
   * `undefined` with auth off (the console is open, as the rest of a local gateway); `null`
   * with auth on but no token configured (the console refuses everyone).
   */
  adminToken(): string | undefined | null;
  /** The spec in force as the Spec view shows it: key hashes and URL credentials removed. */
  specDocument(): unknown;
  /** The planner's page (`plan --html`) for the spec in force. */
  planHtml(): string;
  /** The sweep the operator pointed the console at, why there is none, or why it is unreadable. */
  bench(): BenchView | { missing: string };
}
