/**
 * `prefix-affinity`: consistent hashing with bounded loads (CHWBL; Mirrokni, Thorup and
 * Zadimoghaddam 2018), as KubeAI's PrefixHash strategy: requests that share a prompt prefix
 * go to the same endpoint, whose engine then reuses the prefix's KV blocks (KubeAI measured
 * mean TTFT 39 s → 0.24 s against round robin on multi-turn chat), while no endpoint takes
 * more than `meanLoadFactor` × the mean load.
 *
 * - The ring holds `replication` virtual nodes per endpoint of `ctx.all` (not only of the
 *   candidates), so an ejection or a cap does not remap anyone else's keys; it is rebuilt
 *   only when the set of endpoint ids changes, and adding or removing one endpoint moves
 *   about 1/N of the keys.
 * - The key is the first `prefixCharLength` characters of `ctx.prefixKey`, hashed in place.
 * - From the key's point the walk goes clockwise to the first candidate whose load after
 *   this request stays within the bound: inFlight + 1 ≤ ceil(meanLoadFactor × (total + 1) / n),
 *   with total the in-flight requests over the n candidates (the paper's capacity; some
 *   candidate always fits when meanLoadFactor ≥ 1).
 * - No candidate fits (meanLoadFactor < 1, or candidates missing from `ctx.all`):
 *   least-request, `fallback: "load-bound"`. No key: least-request, `fallback: "no-key"`.
 * - A key this gateway has not seen recently (no endpoint can have its prefix cached yet)
 *   whose endpoint is busy with a prompt still awaiting its first token goes instead to the
 *   fitting candidate with the fewest such prompts (ties in rotation). Unique prompts hash
 *   uniformly at random, so consecutive ones would otherwise collide in prefill: +20 to +25%
 *   TTFT p50 against round-robin on random prompts (bench/routing.ts). A shared prefix seen
 *   once keeps its ring endpoint from then on; it costs at most one extra prefill there.
 */
import type { Balancer, EndpointState, Pick, PickContext } from "../../types.js";
import { hash32 } from "../hash.js";
import { twoChoices } from "./least-request.js";

/** Recently seen key hashes remembered (FIFO). */
const SEEN_KEYS = 16_384;

export interface PrefixAffinityOptions {
  /** Uniform [0, 1) source for the least-request fallbacks. Default Math.random. */
  random?: () => number;
  /** Characters of the prefix key that are hashed. Default 100 (KubeAI). */
  prefixCharLength?: number;
  /** Virtual nodes per endpoint on the ring. Default 256 (KubeAI). */
  replication?: number;
  /** Most load an endpoint may take, as a multiple of the mean. Default 1.25 (KubeAI's 125%). */
  meanLoadFactor?: number;
}

export class PrefixAffinityBalancer implements Balancer {
  readonly name = "prefix-affinity" as const;
  readonly #random: () => number;
  readonly #prefixChars: number;
  readonly #replication: number;
  readonly #factor: number;

  /** Ids of the `ctx.all` the ring was last checked against, in that order (fast path). */
  #seenIds: string[] = [];
  /** Endpoint id → owner index (ids sorted, so the ring does not depend on their order). */
  #owner = new Map<string, number>();
  /** Ring points, ascending, and the owner of each. */
  #points = new Uint32Array(0);
  #owners = new Uint32Array(0);
  /** Per owner, for the current pick: its candidate state, when stamp === epoch. */
  #cand: (EndpointState | undefined)[] = [];
  #stamp = new Uint32Array(0);
  #epoch = 0;
  /** Hashes of recently seen keys, and the same in arrival order for eviction. */
  #seen = new Set<number>();
  #seenOrder = new Uint32Array(SEEN_KEYS);
  #seenAt = 0;
  #rotation = 0;

  constructor(options: PrefixAffinityOptions = {}) {
    this.#random = options.random ?? Math.random;
    this.#prefixChars = Math.max(1, Math.floor(options.prefixCharLength ?? 100));
    this.#replication = Math.max(1, Math.floor(options.replication ?? 256));
    this.#factor = options.meanLoadFactor ?? 1.25;
  }

  pick(candidates: readonly EndpointState[], ctx: PickContext): Pick {
    const key = ctx.prefixKey;
    if (key === undefined || key.length === 0) {
      return { endpoint: twoChoices(candidates, this.#random), fallback: "no-key" };
    }
    this.#sync(ctx.all);
    const n = candidates.length;
    let total = 0;
    for (let i = 0; i < n; i++) total += (candidates[i] as EndpointState).inFlight;
    const capacity = Math.ceil((this.#factor * (total + 1)) / n);

    // Mark the candidates on the ring; count those under the bound (0 → no walk at all).
    if (++this.#epoch === 0xffffffff) {
      this.#stamp.fill(0);
      this.#epoch = 1;
    }
    const epoch = this.#epoch;
    let fits = 0;
    for (let i = 0; i < n; i++) {
      const c = candidates[i] as EndpointState;
      const o = this.#owner.get(c.id);
      if (o === undefined || this.#stamp[o] === epoch) continue;
      this.#stamp[o] = epoch;
      this.#cand[o] = c;
      if (c.inFlight + 1 <= capacity) fits++;
    }
    if (fits === 0) return { endpoint: twoChoices(candidates, this.#random), fallback: "load-bound" };

    const points = this.#points;
    const owners = this.#owners;
    const size = points.length;
    const h = hash32(key, 0, this.#prefixChars);
    let k = lowerBound(points, h);
    // Every fitting candidate owns ≥ 1 point, so one turn of the ring finds one.
    for (let step = 0; step < size; step++, k++) {
      if (k === size) k = 0;
      const o = owners[k] as number;
      if (this.#stamp[o] !== epoch) continue;
      const c = this.#cand[o] as EndpointState;
      if (c.inFlight + 1 <= capacity) {
        const cold = this.#remember(h);
        return { endpoint: cold && c.awaitingFirstToken > 0 ? this.#leastPrefill(candidates, capacity) : c };
      }
    }
    return { endpoint: twoChoices(candidates, this.#random), fallback: "load-bound" };
  }

  /** Records a key hash; true when it was not among the recently seen. */
  #remember(h: number): boolean {
    if (this.#seen.has(h)) return false;
    if (this.#seen.size >= SEEN_KEYS) this.#seen.delete(this.#seenOrder[this.#seenAt] as number);
    this.#seen.add(h);
    this.#seenOrder[this.#seenAt] = h;
    this.#seenAt = (this.#seenAt + 1) % SEEN_KEYS;
    return true;
  }

  /** The fitting candidate with the fewest requests awaiting their first token, ties in rotation. */
  #leastPrefill(candidates: readonly EndpointState[], capacity: number): EndpointState {
    const n = candidates.length;
    const start = this.#rotation % n;
    this.#rotation = (this.#rotation + 1) % 0x40000000;
    let best: EndpointState | undefined;
    for (let i = 0; i < n; i++) {
      const c = candidates[(start + i) % n] as EndpointState;
      if (c.inFlight + 1 > capacity) continue;
      if (best === undefined || c.awaitingFirstToken < best.awaitingFirstToken) best = c;
    }
    return best as EndpointState; // the caller found at least one that fits
  }

  /** Rebuilds the ring when the set of endpoint ids in `all` changed. */
  #sync(all: readonly EndpointState[]): void {
    const seen = this.#seenIds;
    if (all.length === seen.length) {
      let same = true;
      for (let i = 0; i < all.length; i++) {
        if ((all[i] as EndpointState).id !== seen[i]) {
          same = false;
          break;
        }
      }
      if (same) return;
    }
    this.#seenIds = all.map((e) => e.id);
    const ids = [...new Set(this.#seenIds)].sort();
    if (ids.length === this.#owner.size && ids.every((id) => this.#owner.has(id))) return; // reordered only
    this.#build(ids);
  }

  #build(ids: readonly string[]): void {
    const r = this.#replication;
    const entries: { point: number; owner: number }[] = [];
    this.#owner = new Map(ids.map((id, i) => [id, i]));
    ids.forEach((id, owner) => {
      for (let v = 0; v < r; v++) entries.push({ point: hash32(`${id}-${v}`), owner });
    });
    entries.sort((a, b) => a.point - b.point || a.owner - b.owner);
    this.#points = Uint32Array.from(entries, (e) => e.point);
    this.#owners = Uint32Array.from(entries, (e) => e.owner);
    this.#cand = new Array<EndpointState | undefined>(ids.length).fill(undefined);
    this.#stamp = new Uint32Array(ids.length);
    this.#epoch = 0;
  }
}

/** Index of the first point ≥ h (points.length when none: the walk wraps to 0). */
function lowerBound(points: Uint32Array, h: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((points[mid] as number) < h) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
