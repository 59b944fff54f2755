/**
 * Synthetic workloads for capacity studies and calibration: seeded, so every run is the same.
 */
import type { WorkloadRequest } from "./fleet.js";

/** mulberry32: a small, fast, seedable PRNG with good enough statistics for workloads. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal by Box–Muller. */
function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

export type LengthDist =
  | { kind: "fixed"; value: number }
  | { kind: "uniform"; min: number; max: number }
  /** Log-normal with this mean and shape σ, clipped to [min, max]; chat-length tails look like this. */
  | { kind: "lognormal"; mean: number; sigma: number; min?: number; max?: number };

export function sampleLength(d: LengthDist, rand: () => number): number {
  switch (d.kind) {
    case "fixed":
      return d.value;
    case "uniform":
      return Math.round(d.min + rand() * (d.max - d.min));
    case "lognormal": {
      const mu = Math.log(d.mean) - (d.sigma * d.sigma) / 2;
      const x = Math.round(Math.exp(mu + d.sigma * normal(rand)));
      return Math.min(d.max ?? Number.POSITIVE_INFINITY, Math.max(d.min ?? 1, x));
    }
  }
}

/**
 * ShareGPT-like lengths: vLLM's v0.6.0 benchmark reports 202 input / 179 output tokens on
 * average (its sampler drops prompts over 1,024 tokens and pairs over 2,048). The spread is our
 * assumption: log-normal with σ = 0.5, clipped to [4, 1024]. Burst throughput depends on it
 * (the longest request sets the makespan); docs/simulator.md shows how much.
 */
export const SHAREGPT_LIKE = {
  input: { kind: "lognormal", mean: 202, sigma: 0.5, min: 4, max: 1024 } as LengthDist,
  output: { kind: "lognormal", mean: 179, sigma: 0.5, min: 4, max: 1024 } as LengthDist,
};

export interface WorkloadOptions {
  requests: number;
  /** Mean arrivals per second (Poisson); `Infinity` sends everything at t = 0. */
  rate: number;
  input: LengthDist;
  output: LengthDist;
  seed?: number;
  /** Share one prefix of this many tokens among `groups` prefix ids (system prompts). */
  sharedPrefix?: { tokens: number; groups: number };
  idPrefix?: string;
}

export function generateWorkload(o: WorkloadOptions): WorkloadRequest[] {
  const rand = rng(o.seed ?? 1);
  const out: WorkloadRequest[] = [];
  let t = 0;
  for (let i = 0; i < o.requests; i++) {
    if (Number.isFinite(o.rate)) t += -Math.log(1 - rand()) / o.rate;
    const own = sampleLength(o.input, rand);
    const maxTokens = sampleLength(o.output, rand);
    const req: WorkloadRequest = {
      id: `${o.idPrefix ?? "r"}${i}`,
      arrival: Number.isFinite(o.rate) ? t : 0,
      promptTokens: own,
      maxTokens,
    };
    if (o.sharedPrefix) {
      const group = Math.floor(rand() * o.sharedPrefix.groups);
      req.prefix = { id: `prefix-${group}`, tokens: o.sharedPrefix.tokens };
      req.promptTokens = own + o.sharedPrefix.tokens;
    }
    out.push(req);
  }
  return out;
}
