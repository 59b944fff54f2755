/**
 * `load-aware`: scores each candidate from the engine's own metrics, as the Gateway API
 * Inference Extension's scorers do, and takes the best:
 *
 *   score = queueWeight   × (1 − minmax(queue))          queue scorer: shorter is better
 *         + kvWeight      × (1 − kvUsage)                 KV-cache scorer: free blocks are better
 *         + runningWeight × (1 − minmax(running))         optional, off by default
 *
 * where minmax(x) = (x − min) / (max − min) over the candidates (0 for all when they are
 * equal). Metrics lag by up to a scrape interval, so the queue counts the requests this
 * gateway has in flight to the endpoint on top of the scraped waiting queue, those still
 * awaiting their first token `PREFILL_WEIGHT` times (see least-request.ts): a burst between two
 * scrapes spreads instead of piling onto the endpoint that looked idlest at the last sample, and
 * two prompts rarely prefill on one replica at once. Ties go to fewer in flight, then to the next
 * in rotation (a random pick among ties let consecutive prompts collide: +16% TTFT p50 against
 * round-robin on random prompts, bench/routing.ts).
 *
 * Fail open: when any candidate has no sample or one older than `staleMs`, scores would
 * compare old and new numbers, so the pick degrades to least-request (`stale-metrics`).
 * Engines that export no KV usage (TGI, llama.cpp) drop that term for the whole pick, and its
 * weight goes to the running batch instead (a busy llama.cpp slot shows as running 1, waiting 0).
 */
import type { Balancer, EndpointLoad, EndpointState, Pick, PickContext } from "../../types.js";
import { PREFILL_WEIGHT, twoChoices } from "./least-request.js";

export interface LoadAwareOptions {
  /** Uniform [0, 1) source for the least-request fallback. Default Math.random. */
  random?: () => number;
  /** A sample older than this (ms, against `ctx.now`) is stale. Default 1,000. */
  staleMs?: number;
  /** Weight of the queue term (waiting + in flight from this gateway). Default 1. */
  queueWeight?: number;
  /** Weight of the KV-cache term (1 − kvUsage). Default 1. */
  kvWeight?: number;
  /** Weight of the running-batch term. Default 0 (off). */
  runningWeight?: number;
}

export class LoadAwareBalancer implements Balancer {
  readonly name = "load-aware" as const;
  readonly #random: () => number;
  readonly #staleMs: number;
  readonly #wq: number;
  readonly #wkv: number;
  readonly #wr: number;
  #rotation = 0;

  constructor(options: LoadAwareOptions = {}) {
    this.#random = options.random ?? Math.random;
    this.#staleMs = options.staleMs ?? 1_000;
    this.#wq = options.queueWeight ?? 1;
    this.#wkv = options.kvWeight ?? 1;
    this.#wr = options.runningWeight ?? 0;
  }

  pick(candidates: readonly EndpointState[], ctx: PickContext): Pick {
    const n = candidates.length;
    // Pass 1: freshness, and the ranges the scorers normalize over.
    let qMin = Number.POSITIVE_INFINITY;
    let qMax = Number.NEGATIVE_INFINITY;
    let rMin = Number.POSITIVE_INFINITY;
    let rMax = Number.NEGATIVE_INFINITY;
    let kv = this.#wkv !== 0;
    for (let i = 0; i < n; i++) {
      const c = candidates[i] as EndpointState;
      const load = c.load;
      if (load === undefined || !(ctx.now - load.at <= this.#staleMs)) {
        return { endpoint: twoChoices(candidates, this.#random), fallback: "stale-metrics" };
      }
      const q = queueOf(c, load);
      if (q < qMin) qMin = q;
      if (q > qMax) qMax = q;
      if (load.running < rMin) rMin = load.running;
      if (load.running > rMax) rMax = load.running;
      if (load.kvUsage === undefined) kv = false;
    }
    const qSpan = qMax - qMin;
    const rSpan = rMax - rMin;
    // Pass 2: score, starting at the rotation; the best wins, ties to fewer in flight, then to
    // the earliest in rotation order.
    const start = this.#rotation % n;
    this.#rotation = (this.#rotation + 1) % 0x40000000;
    let best = candidates[start] as EndpointState;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const c = candidates[(start + k) % n] as EndpointState;
      const score = this.#score(c, c.load as EndpointLoad, qMin, qSpan, rMin, rSpan, kv);
      if (score > bestScore + EPS || (score > bestScore - EPS && c.inFlight < best.inFlight)) {
        best = c;
        bestScore = score;
      }
    }
    return { endpoint: best };
  }

  /**
   * Higher is better: a short queue, free KV cache and a small running batch, each scaled over the
   * candidates' range (plain arguments, not an object: this runs for every candidate of every request).
   */
  #score(
    c: EndpointState,
    load: EndpointLoad,
    qMin: number,
    qSpan: number,
    rMin: number,
    rSpan: number,
    kv: boolean,
  ): number {
    let score = 0;
    if (qSpan > 0) score += this.#wq * (1 - (queueOf(c, load) - qMin) / qSpan);
    else score += this.#wq;
    if (kv) score += this.#wkv * (1 - clamp01(load.kvUsage as number));
    // Without a KV gauge (TGI, llama.cpp) the running batch is the occupancy signal that exists.
    const wr = kv ? this.#wr : this.#wr || this.#wkv;
    if (wr !== 0) score += wr * (rSpan > 0 ? 1 - (load.running - rMin) / rSpan : 1);
    return score;
  }
}

const EPS = 1e-9;
/** The queue the scorer sees: scraped waiting, plus this gateway's own requests (prefills weighted). */
const queueOf = (c: EndpointState, load: EndpointLoad): number =>
  load.waiting + c.inFlight + PREFILL_WEIGHT * c.awaitingFirstToken;
const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));
