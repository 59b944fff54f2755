/**
 * Replicas for the SLO: the model's expected load runs through the simulator's engine model on
 * its virtual clock (accelerated: a few hundred requests take tens of milliseconds), and the
 * planner takes the fewest replicas whose TTFT and TPOT percentiles meet the objectives.
 *
 * Each of N replicas is simulated as one engine receiving a Poisson stream at rate ÷ N (a random
 * split of the traffic). The gateway's least-request balancer does better than a random split,
 * so this errs on the safe side, and it lets every replica count and every model with the same
 * shape share one simulation. Per-replica rates are rounded UP to the R10 series (1, 1.25, 1.6,
 * 2, 2.5, 3.15, 4, 5, 6.3, 8 × 10^k) so nearby loads share results; rounding up is again safe.
 * Each simulation covers at least 30 s of arrivals (and 200 requests), so overload shows as a
 * growing queue rather than hiding in a short transient. Request lengths are log-normal (σ = 0.5, the simulator's ShareGPT-like shape) around the
 * spec's means, clipped to four times the mean and to the context length.
 */
import type { GpuSpec } from "../catalog/gpus.js";
import { type EngineConfig, engineConfig } from "../sim/model/config.js";
import { simulateFleet } from "../sim/model/fleet.js";
import { generateWorkload } from "../sim/model/workload.js";

/** The engine a candidate unit runs: the simulator's engine settings, with the KV capacity in tokens. */
export type EngineShape = Pick<
  EngineConfig,
  | "model"
  | "tp"
  | "weightFormat"
  | "kvDtypeBytes"
  | "gpuMemoryUtilization"
  | "maxNumSeqs"
  | "maxNumBatchedTokens"
  | "maxModelLen"
  | "enablePrefixCaching"
> & {
  /** The GPU the replica behaves as (a MIG instance or a time-slicing share already scaled). */
  gpu: GpuSpec;
  /** KV tokens of the replica (from the memory model). */
  kvTokens: number;
};

export interface LoadShape {
  inputTokens: number;
  outputTokens: number;
  sharedPrefixTokens: number;
}

export interface Objectives {
  /** Seconds; undefined: no objective. */
  ttft?: number;
  tpot?: number;
  /** 50, 90, 95 or 99. */
  percentile: number;
}

export interface ReplicaLatency {
  ttft: number;
  tpot: number;
  /** Mean end-to-end latency, seconds. */
  meanE2e: number;
  rejected: number;
  completed: number;
}

const R10 = [1, 1.25, 1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8, 10];
const BLOCK = 16;
const MAX_REQUESTS = 2000;
const WINDOW_S = 30;

/** `rate` rounded up to the R10 preferred-number series. */
export function roundUpR10(rate: number): number {
  if (rate <= 0) return 0;
  const decade = 10 ** Math.floor(Math.log10(rate));
  const m = rate / decade;
  const step = R10.find((x) => x >= m - 1e-9) ?? 10;
  return Number((step * decade).toPrecision(3));
}

/** Nearest-rank percentile of `values` (sorted ascending in place). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * values.length));
  return values[Math.min(values.length, rank) - 1] as number;
}

export class LatencyOracle {
  private readonly cache = new Map<string, ReplicaLatency>();
  private readonly capacities = new Map<string, number>();
  /** Simulations actually run (cache misses), for the benchmark report. */
  simulations = 0;

  constructor(
    private readonly seed = 1,
    private readonly requests = 200,
  ) {}

  /** Latency percentiles of one replica fed `rate` requests per second (rate 0: one at a time). */
  /**
   * `horizonS`: the simulation stops this long after the last arrival; a request unfinished by
   * then counts with infinite latency (an overloaded replica's queue only grows).
   */
  replica(
    engine: EngineShape,
    load: LoadShape,
    rate: number,
    pct: number,
    horizonS = Number.POSITIVE_INFINITY,
  ): ReplicaLatency {
    const q = roundUpR10(rate);
    const horizon = q === 0 ? Number.POSITIVE_INFINITY : horizonS;
    const key = `${horizon}|${q}|${pct}|${this.keyOf(engine, load)}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    this.simulations++;
    // Idle: a few requests far apart give the isolated latency. Otherwise at least WINDOW_S of
    // arrivals, so that an overloaded replica's queue shows in the tail.
    const workload =
      q === 0
        ? this.workload(engine, load, 20, 1e-4)
        : this.workload(
            engine,
            load,
            Math.min(MAX_REQUESTS, Math.max(this.requests, Math.ceil(q * WINDOW_S))),
            q,
          );
    const cfg = this.config(engine);
    const last = workload.at(-1)?.arrival ?? 0;
    const result = simulateFleet(workload, { engine: cfg, replicas: 1, maxTime: last + horizon });
    const served = result.requests.filter((r) => r.rejected === undefined);
    const done = served.filter((r) => Number.isFinite(r.e2e));
    const inf = Number.POSITIVE_INFINITY;
    const out: ReplicaLatency = {
      ttft: percentile(
        served.map((r) => (Number.isFinite(r.ttft) ? r.ttft : inf)),
        pct,
      ),
      tpot: percentile(
        served
          .filter((r) => !Number.isFinite(r.e2e) || r.outputTokens > 1)
          .map((r) => (Number.isFinite(r.e2e) ? r.tpot : inf)),
        pct,
      ),
      meanE2e: done.reduce((sum, r) => sum + r.e2e, 0) / Math.max(1, done.length),
      rejected: result.requests.length - served.length,
      completed: done.length,
    };
    this.cache.set(key, out);
    return out;
  }

  private keyOf(engine: EngineShape, load: LoadShape): string {
    const g = engine.gpu;
    return [
      engine.model.id,
      g.id,
      g.memoryBytes,
      g.memoryBandwidthBytesPerSec,
      g.fp16Flops,
      engine.tp,
      engine.weightFormat,
      engine.kvDtypeBytes,
      engine.maxNumSeqs,
      engine.maxNumBatchedTokens,
      engine.maxModelLen,
      engine.kvTokens,
      engine.enablePrefixCaching,
      load.inputTokens,
      load.outputTokens,
      load.sharedPrefixTokens,
    ].join("|");
  }

  private workload(engine: EngineShape, load: LoadShape, requests: number, rate: number) {
    // One output token stays one (an encoder's single forward pass); longer answers vary.
    const outMax =
      load.outputTokens <= 1
        ? 1
        : Math.max(1, Math.min(4 * load.outputTokens, Math.floor(engine.maxModelLen / 2)));
    const shared = Math.min(load.sharedPrefixTokens, Math.max(0, load.inputTokens - 1));
    const ownMean = Math.max(1, load.inputTokens - shared);
    const inMax = Math.max(1, Math.min(4 * ownMean, engine.maxModelLen - outMax - shared));
    return generateWorkload({
      requests,
      rate,
      input: { kind: "lognormal", mean: Math.min(ownMean, inMax), sigma: 0.5, min: 1, max: inMax },
      output: {
        kind: "lognormal",
        mean: Math.min(load.outputTokens, outMax),
        sigma: 0.5,
        min: 1,
        max: outMax,
      },
      seed: this.seed,
      ...(shared > 0 ? { sharedPrefix: { tokens: shared, groups: 1 } } : {}),
    });
  }

  private config(engine: EngineShape) {
    return engineConfig({
      model: engine.model,
      gpu: engine.gpu,
      tp: engine.tp,
      weightFormat: engine.weightFormat,
      kvDtypeBytes: engine.kvDtypeBytes,
      gpuMemoryUtilization: engine.gpuMemoryUtilization,
      maxNumSeqs: engine.maxNumSeqs,
      maxNumBatchedTokens: engine.maxNumBatchedTokens,
      maxModelLen: engine.maxModelLen,
      blockSize: BLOCK,
      enablePrefixCaching: engine.enablePrefixCaching,
      numGpuBlocks: Math.max(1, Math.floor(engine.kvTokens / BLOCK)),
    });
  }

  /**
   * Most requests per second one replica sustains: a burst of twice max_num_seqs requests at
   * once, counting completions while requests still wait (the engine is full then) — the drain
   * at the end, where the batch empties, would understate it more. An estimate, used only to
   * skip replica counts that are hopelessly overloaded.
   */
  capacity(engine: EngineShape, load: LoadShape): number {
    const key = this.keyOf(engine, load);
    const hit = this.capacities.get(key);
    if (hit !== undefined) return hit;
    this.simulations++;
    const n = Math.min(600, Math.max(200, 2 * engine.maxNumSeqs));
    const workload = this.workload(engine, load, n, Number.POSITIVE_INFINITY);
    const result = simulateFleet(workload, { engine: this.config(engine), replicas: 1 });
    const served = result.requests.filter((r) => r.rejected === undefined);
    const lastStart = Math.max(0, ...served.map((r) => (Number.isFinite(r.queueTime) ? r.queueTime : 0)));
    const byThen = served.filter((r) => Number.isFinite(r.e2e) && r.e2e <= lastStart).length;
    const cap =
      lastStart > 0 && byThen > 0
        ? byThen / lastStart
        : result.makespan > 0
          ? served.length / result.makespan
          : Number.POSITIVE_INFINITY;
    this.capacities.set(key, cap);
    return cap;
  }

  meets(l: ReplicaLatency, o: Objectives): boolean {
    if (l.rejected > 0 || l.completed === 0) return false;
    if (o.ttft !== undefined && !(l.ttft <= o.ttft)) return false;
    if (o.tpot !== undefined && !(l.tpot <= o.tpot || Number.isNaN(l.tpot))) return false;
    return true;
  }

  /** Whether `replicas` replicas meet the objectives at `rate` requests per second in total. */
  meetsAt(
    engine: EngineShape | ((perReplicaRate: number) => EngineShape),
    load: LoadShape,
    rate: number,
    o: Objectives,
    replicas: number,
  ): boolean {
    const at = (r: number) => (typeof engine === "function" ? engine(r) : engine);
    const idle = this.replica(at(0), load, 0, o.percentile);
    if (!this.meets(idle, o)) return false;
    if (rate <= 0) return true;
    const r = rate / replicas;
    return this.meets(this.replica(at(r), load, r, o.percentile, horizonOf(load, o)), o);
  }

  /**
   * Fewest replicas (≤ `limit`) whose per-replica latency meets the objectives at `rate`
   * requests per second in total; `replicas: null` when even `limit` replicas (or an idle
   * replica) miss them, with the latency seen at the last count tried.
   */
  replicasFor(
    engine: EngineShape | ((perReplicaRate: number) => EngineShape),
    load: LoadShape,
    rate: number,
    o: Objectives,
    limit = 256,
  ): { replicas: number | null; latency: ReplicaLatency; at: number } {
    const at = (r: number) => (typeof engine === "function" ? engine(r) : engine);
    const horizon = horizonOf(load, o);
    const run = (r: number) => this.replica(at(r), load, r, o.percentile, horizon);
    const idle = run(0);
    if (!this.meets(idle, o)) return { replicas: null, latency: idle, at: 0 };
    if (rate <= 0) return { replicas: 0, latency: idle, at: 0 };
    const ok = (n: number) => this.meets(run(rate / n), o);
    // Light load (Little's law: under a quarter of max_num_seqs in flight when alone): try one.
    const light = rate * idle.meanE2e <= at(rate).maxNumSeqs / 4;
    if (light && ok(1)) return { replicas: 1, latency: run(rate), at: 1 };
    // Overloaded counts are the costly simulations (the queue only grows), so jump past those
    // below rate ÷ (2 × burst capacity): the burst understates what a replica sustains under
    // Poisson arrivals (by about 1.5× for Qwen2.5-7B on an H100), hence the factor 2.
    const floor = light
      ? 2
      : Math.min(limit, Math.max(1, Math.ceil(rate / (2 * this.capacity(at(rate), load)))));
    let hi = floor;
    while (!ok(hi)) {
      if (hi >= limit) return { replicas: null, latency: run(rate / hi), at: hi };
      hi = Math.min(limit, hi * 2);
    }
    let lo = hi === floor ? floor : Math.floor(hi / 2) + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (ok(mid)) hi = mid;
      else lo = mid + 1;
    }
    return { replicas: hi, latency: run(rate / hi), at: hi };
  }
}

/** Smallest k with P(Binomial(n, p) ≤ k) ≥ q. */
export function binomialQuantile(n: number, p: number, q: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  let prob = (1 - p) ** n;
  let cdf = prob;
  let k = 0;
  while (cdf < q && k < n) {
    prob *= ((n - k) / (k + 1)) * (p / (1 - p));
    k++;
    cdf += prob;
  }
  return k;
}

/** A request that meets both objectives ends within ttft + (output − 1) × tpot of arriving. */
function horizonOf(load: LoadShape, o: Objectives): number {
  return (o.ttft ?? 60) + 4 * load.outputTokens * (o.tpot ?? 1);
}
