/**
 * The GPU capacity planner: from a validated spec to a Plan (what fits where, how many
 * replicas meet the SLO, how every GPU is laid out, what it costs, and why anything cannot).
 * Pure: spec in, plan out; no I/O, no clock.
 */
import type { Platform } from "../spec/schema.js";
import { buildPlan } from "./plan.js";
import type { Plan, PlanOptions } from "./types.js";

export type * from "./types.js";

/** Plans a validated platform spec (apply an environment's overrides before calling). */
export function planSpec(spec: Platform, options: PlanOptions = {}): Plan {
  return buildPlan(spec, options);
}
