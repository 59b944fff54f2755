/**
 * `least-request`: the power of two choices (Envoy's `LEAST_REQUEST`, choice_count 2): two
 * distinct random candidates, the one with fewer requests in flight from this gateway. Two
 * random choices give nearly the balance of a full scan without its herd behaviour (every
 * gateway replica sending to the same idlest endpoint at once).
 */
import type { Balancer, EndpointState, Pick, PickContext } from "../../types.js";

export interface LeastRequestOptions {
  /** Uniform [0, 1) source; inject a seeded one for deterministic tests. Default Math.random. */
  random?: () => number;
}

/** Two distinct random candidates, the one with fewer in flight (ties: the first drawn). */
export function twoChoices(candidates: readonly EndpointState[], random: () => number): EndpointState {
  const n = candidates.length;
  const i = Math.min(n - 1, Math.floor(random() * n));
  const a = candidates[i] as EndpointState;
  if (n === 1) return a;
  let j = Math.min(n - 2, Math.floor(random() * (n - 1)));
  if (j >= i) j++;
  const b = candidates[j] as EndpointState;
  return b.inFlight < a.inFlight ? b : a;
}

export class LeastRequestBalancer implements Balancer {
  readonly name = "least-request" as const;
  readonly #random: () => number;

  constructor(options: LeastRequestOptions = {}) {
    this.#random = options.random ?? Math.random;
  }

  pick(candidates: readonly EndpointState[], _ctx: PickContext): Pick {
    return { endpoint: twoChoices(candidates, this.#random) };
  }
}
