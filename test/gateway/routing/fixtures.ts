/** Shared helpers of the routing tests (not a test file itself). */

import { type EndpointLoad, type EndpointState, newEndpoint } from "../../../src/gateway/types.js";
import { rng } from "../../../src/sim/model/workload.js";

export { rng };

/** `n` endpoints of pool `p`, ids http://10.0.0.<i>:8000. */
export function endpoints(n: number, pool = "p", from = 1): EndpointState[] {
  return Array.from({ length: n }, (_, i) => newEndpoint(pool, `http://10.0.0.${from + i}:8000`));
}

/** A fresh load sample at `now`. */
export function load(now: number, waiting = 0, running = 0, kvUsage: number | undefined = 0.1): EndpointLoad {
  return kvUsage === undefined ? { waiting, running, at: now } : { waiting, running, kvUsage, at: now };
}

/** Index of `e` in `list` by id, for readable assertions. */
export function indexOf(list: readonly EndpointState[], e: EndpointState): number {
  return list.findIndex((x) => x.id === e.id);
}

/** Random printable keys of a given length, from a seeded RNG. */
export function randomKey(random: () => number, length = 120): string {
  let s = "";
  for (let i = 0; i < length; i++) s += String.fromCharCode(97 + Math.floor(random() * 26));
  return s;
}
