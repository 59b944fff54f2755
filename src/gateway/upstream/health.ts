/**
 * Active health checking of one pool: every `intervalMs` a GET of each endpoint's health path
 * (the engine adapter's), bounded by a short timeout, sets `healthy`. It also closes the loop with
 * outlier detection: an ejected endpoint whose ejection time has passed is probed like the others
 * and, on a pass, returned to service (`uneject`); on a failure it is marked unhealthy and stays
 * out. Once per interval the ejection counts of endpoints in service decay (Envoy's backoff decay).
 *
 * Rounds never overlap: the next one is scheduled when the current one has finished, and
 * `checkNow()` while a round is running joins it. Timers are unref'd, so a checker never keeps
 * the process alive.
 */
import { Agent, type Dispatcher, request } from "undici";
import type { EngineAdapter } from "../../engines/adapter.js";
import type { EndpointState } from "../types.js";
import { decayEjections, uneject } from "./outlier.js";
import { PeriodicRounds } from "./periodic.js";

export interface HealthCheckerOptions {
  adapter: EngineAdapter;
  /** The pool's endpoints, read at every round (discovery may change them between rounds). */
  endpoints: () => readonly EndpointState[];
  /** Period between rounds, ms (`gateway.outlierDetection.interval`, default 10 s). */
  intervalMs?: number;
  /** Bound on one check (connect, headers and body), ms. Default: min(2 s, interval). */
  timeoutMs?: number;
  /**
   * While an endpoint is unhealthy it is probed again after this long, ms, without waiting for
   * the next round (Envoy's `unhealthy_interval`): a probe that failed on a busy machine does not
   * keep a good endpoint out for a whole interval. Default: min(1 s, interval).
   */
  unhealthyIntervalMs?: number;
  /** Checks failed in a row before an endpoint is marked unhealthy (default 1). */
  unhealthyThreshold?: number;
  /** Checks passed in a row before an unhealthy endpoint is marked healthy again (default 1). */
  healthyThreshold?: number;
  /** Environment the adapter reads its API key from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** HTTP client; default: an own keep-alive Agent (closed by `stop`). */
  dispatcher?: Dispatcher;
  /** Clock, ms (default performance.now, the clock of `EndpointState.ejectedUntil`). */
  now?: () => number;
  /** Called when an endpoint's `healthy` flips or it is returned to service. */
  onChange?: (ep: EndpointState, event: "healthy" | "unhealthy" | "unejected") => void;
  /** Called with each failed check's reason (for logs). */
  onCheckError?: (ep: EndpointState, reason: string) => void;
}

interface Streak {
  passes: number;
  failures: number;
}

export class HealthChecker {
  private readonly adapter: EngineAdapter;
  private readonly endpoints: () => readonly EndpointState[];
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly unhealthyThreshold: number;
  private readonly healthyThreshold: number;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly now: () => number;
  private readonly onChange: HealthCheckerOptions["onChange"];
  private readonly onCheckError: HealthCheckerOptions["onCheckError"];
  private readonly streaks = new Map<string, Streak>();
  private readonly rounds: PeriodicRounds;
  private lastDecay = Number.NEGATIVE_INFINITY;
  private readonly unhealthyIntervalMs: number;
  private recheck: NodeJS.Timeout | undefined;
  private running = false;

  constructor(opts: HealthCheckerOptions) {
    this.adapter = opts.adapter;
    this.endpoints = opts.endpoints;
    this.intervalMs = Math.max(1, opts.intervalMs ?? 10_000);
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? Math.min(2_000, this.intervalMs));
    this.unhealthyThreshold = Math.max(1, opts.unhealthyThreshold ?? 1);
    this.unhealthyIntervalMs = Math.max(1, opts.unhealthyIntervalMs ?? Math.min(1_000, this.intervalMs));
    this.healthyThreshold = Math.max(1, opts.healthyThreshold ?? 1);
    this.env = opts.env ?? process.env;
    this.ownsDispatcher = opts.dispatcher === undefined;
    this.dispatcher =
      opts.dispatcher ??
      new Agent({ keepAliveTimeout: 60_000, connections: 1, connect: { timeout: this.timeoutMs } });
    this.now = opts.now ?? (() => performance.now());
    this.rounds = new PeriodicRounds(() => this.round(), this.intervalMs, this.now);
    this.onChange = opts.onChange;
    this.onCheckError = opts.onCheckError;
  }

  /** Starts periodic checks; the first round runs at once. Idempotent. */
  start(): void {
    this.running = true;
    this.rounds.start();
  }

  /** Stops the checks (a round in flight finishes; its results still apply). */
  stop(): void {
    this.running = false;
    clearTimeout(this.recheck);
    this.recheck = undefined;
    this.rounds.stop();
  }

  /** Stops and closes the checker's own HTTP agent. */
  async close(): Promise<void> {
    this.stop();
    await this.rounds.settle();
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** Runs one round now (or joins the one in flight) and resolves when it is done. */
  checkNow(): Promise<void> {
    return this.rounds.runNow();
  }

  private async round(): Promise<void> {
    const eps = this.endpoints();
    const live = new Set<string>();
    await Promise.all(
      eps.map(async (ep) => {
        live.add(ep.id);
        const result = await this.probe(ep);
        this.apply(ep, result);
      }),
    );
    for (const id of this.streaks.keys()) if (!live.has(id)) this.streaks.delete(id);
    const now = this.now();
    if (now - this.lastDecay >= this.intervalMs * 0.9) {
      this.lastDecay = now;
      for (const ep of eps) decayEjections(ep, now);
    }
    if (
      this.running &&
      this.recheck === undefined &&
      this.unhealthyIntervalMs < this.intervalMs &&
      eps.some((e) => !e.healthy)
    ) {
      this.recheck = setTimeout(() => {
        this.recheck = undefined;
        if (this.running) void this.rounds.runNow();
      }, this.unhealthyIntervalMs);
      this.recheck.unref();
    }
  }

  /** One GET of the health path: undefined on a pass, else the reason. */
  private async probe(ep: EndpointState): Promise<string | undefined> {
    let headers: Readonly<Record<string, string>>;
    try {
      headers = this.adapter.requestHeaders(this.env);
    } catch (err) {
      return (err as Error).message;
    }
    try {
      const res = await request(ep.url + this.adapter.healthPath, {
        method: "GET",
        headers,
        dispatcher: this.dispatcher,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
      if (res.statusCode >= 200 && res.statusCode < 300) return undefined;
      return `HTTP ${res.statusCode}`;
    } catch (err) {
      const e = err as Error & { code?: string };
      return e.code ? `${e.code}: ${e.message}` : e.message;
    }
  }

  private apply(ep: EndpointState, failure: string | undefined): void {
    let s = this.streaks.get(ep.id);
    if (s === undefined) {
      s = { passes: 0, failures: 0 };
      this.streaks.set(ep.id, s);
    }
    const now = this.now();
    if (failure === undefined) {
      s.passes++;
      s.failures = 0;
      if (!ep.healthy && s.passes >= this.healthyThreshold) {
        ep.healthy = true;
        this.onChange?.(ep, "healthy");
      }
      if (ep.healthy && ep.ejectedUntil !== 0 && ep.ejectedUntil <= now) {
        uneject(ep);
        this.onChange?.(ep, "unejected");
      }
      return;
    }
    s.failures++;
    s.passes = 0;
    this.onCheckError?.(ep, failure);
    if (ep.healthy && s.failures >= this.unhealthyThreshold) {
      ep.healthy = false;
      this.onChange?.(ep, "unhealthy");
    }
  }
}
