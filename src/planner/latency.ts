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
 * Request lengths are log-normal (σ = 0.5, the simulator's ShareGPT-like shape) around the
 * spec's means, clipped to four times the mean and to the context length.
 */
import type { GpuSpec } from "../catalog/gpus.js";
import type { WeightFormat } from "../catalog/kv.js";
import type { ModelSpec } from "../catalog/models.js";
import { engineConfig } from "../sim/model/config.js";
import { simulateFleet } from "../sim/model/fleet.js";
import { generateWorkload } from "../sim/model/workload.js";

export interface EngineShape {
  model: ModelSpec;
  /** The GPU the replica behaves as (a MIG instance or a time-slicing share already scaled). */
  gpu: GpuSpec;
  tp: number;
  weightFormat: WeightFormat;
  kvDtypeBytes: number;
  gpuMemoryUtilization: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  maxModelLen: number;
  /** KV tokens of the replica (from the memory model). */
  kvTokens: number;
  enablePrefixCaching: boolean;
}

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
  /** Simulations actually run (cache misses), for the benchmark report. */
  simulations = 0;

  constructor(
    private readonly seed = 1,
    private readonly requests = 200,
  ) {}

  /** Latency percentiles of one replica fed `rate` requests per second (rate 0: one at a time). */
  replica(engine: EngineShape, load: LoadShape, rate: number, pct: number): ReplicaLatency {
    const q = roundUpR10(rate);
    const key = [
      engine.model.id,
      engine.gpu.id,
      engine.gpu.memoryBytes,
      engine.gpu.memoryBandwidthBytesPerSec,
      engine.gpu.fp16Flops,
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
      q,
      pct,
    ].join("|");
    const hit = this.cache.get(key);
    if (hit) return hit;
    this.simulations++;
    const outMax = Math.max(1, Math.min(4 * load.outputTokens, Math.floor(engine.maxModelLen / 2)));
    const shared = Math.min(load.sharedPrefixTokens, Math.max(0, load.inputTokens - 1));
    const ownMean = Math.max(1, load.inputTokens - shared);
    const inMax = Math.max(1, Math.min(4 * ownMean, engine.maxModelLen - outMax - shared));
    // Low rates: fewer requests already give the isolated latency (nothing queues).
    const workload = generateWorkload({
      requests: q === 0 ? 20 : this.requests,
      rate: q === 0 ? 1e-4 : q,
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
    const cfg = engineConfig({
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
    const result = simulateFleet(workload, { engine: cfg, replicas: 1 });
    const done = result.requests.filter((r) => r.rejected === undefined && Number.isFinite(r.e2e));
    const out: ReplicaLatency = {
      ttft: percentile(
        done.map((r) => r.ttft),
        pct,
      ),
      tpot: percentile(
        done.filter((r) => r.outputTokens > 1).map((r) => r.tpot),
        pct,
      ),
      meanE2e: done.reduce((sum, r) => sum + r.e2e, 0) / Math.max(1, done.length),
      rejected: result.requests.length - done.length,
      completed: done.length,
    };
    this.cache.set(key, out);
    return out;
  }

  meets(l: ReplicaLatency, o: Objectives): boolean {
    if (l.rejected > 0 || l.completed === 0) return false;
    if (o.ttft !== undefined && !(l.ttft <= o.ttft)) return false;
    if (o.tpot !== undefined && !(l.tpot <= o.tpot || Number.isNaN(l.tpot))) return false;
    return true;
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
    const run = (r: number) => this.replica(at(r), load, r, o.percentile);
    const idle = run(0);
    if (!this.meets(idle, o)) return { replicas: null, latency: idle, at: 0 };
    if (rate <= 0) return { replicas: 0, latency: idle, at: 0 };
    const ok = (n: number) => this.meets(run(rate / n), o);
    let hi = 1;
    while (!ok(hi)) {
      if (hi >= limit) return { replicas: null, latency: run(rate / hi), at: hi };
      hi = Math.min(limit, hi * 2);
    }
    let lo = Math.floor(hi / 2) + 1;
    if (hi === 1) lo = 1;
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
