/**
 * Balancers by name. Each one only picks (undici's pattern); the pool owns health, caps,
 * queueing and draining, and passes the endpoints that may take a request now.
 */
import { BALANCERS } from "../../../spec/schema.js";
import type { Balancer, BalancerName } from "../../types.js";
import { LeastRequestBalancer, type LeastRequestOptions } from "./least-request.js";
import { LoadAwareBalancer, type LoadAwareOptions } from "./load-aware.js";
import { PrefixAffinityBalancer, type PrefixAffinityOptions } from "./prefix-affinity.js";
import { RoundRobinBalancer } from "./round-robin.js";

export { LeastRequestBalancer, type LeastRequestOptions, twoChoices } from "./least-request.js";
export { LoadAwareBalancer, type LoadAwareOptions } from "./load-aware.js";
export { PrefixAffinityBalancer, type PrefixAffinityOptions } from "./prefix-affinity.js";
export { RoundRobinBalancer } from "./round-robin.js";

/** Options of every balancer; each reads only its own. */
export type BalancerOptions = LeastRequestOptions & LoadAwareOptions & PrefixAffinityOptions;

/** The spec's list (src/spec/schema.ts `BALANCERS`): one source for the names. */
export const BALANCER_NAMES: readonly BalancerName[] = BALANCERS;

/** A new balancer (each holds its own state: one per pool). */
export function createBalancer(name: BalancerName, options: BalancerOptions = {}): Balancer {
  switch (name) {
    case "round-robin":
      return new RoundRobinBalancer();
    case "least-request":
      return new LeastRequestBalancer(options);
    case "load-aware":
      return new LoadAwareBalancer(options);
    case "prefix-affinity":
      return new PrefixAffinityBalancer(options);
    default: {
      const never: never = name;
      throw new TypeError(`unknown balancer ${String(never)}`);
    }
  }
}
