/**
 * `round-robin`: each pick goes to the candidate picked least recently. With a stable set
 * this cycles in order; when the set changes (an endpoint ejected, at its cap, or already
 * tried by this request) nobody loses their turn: an endpoint that comes back is next, a
 * new one joins at once, and the rotation of the others is not reset (a plain `i++ % n`
 * shifts everyone whenever n changes).
 */
import type { Balancer, EndpointState, Pick, PickContext } from "../../types.js";

export class RoundRobinBalancer implements Balancer {
  readonly name = "round-robin" as const;
  /** Sequence number of each endpoint's last pick; weak, so replaced endpoints are collected. */
  readonly #last = new WeakMap<EndpointState, number>();
  #seq = 0;

  pick(candidates: readonly EndpointState[], _ctx: PickContext): Pick {
    let best = candidates[0] as EndpointState;
    let bestSeq = this.#last.get(best) ?? 0;
    for (let i = 1; i < candidates.length && bestSeq > 0; i++) {
      const c = candidates[i] as EndpointState;
      const s = this.#last.get(c) ?? 0;
      if (s < bestSeq) {
        best = c;
        bestSeq = s;
      }
    }
    this.#last.set(best, ++this.#seq);
    return { endpoint: best };
  }
}
